using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Himsa.Conn.Tests
{
    [TestFixture]
    [Timeout(60000)]
    public class ConnectionTests
    {
        private static readonly AccessRequest LimitedNeed =
            new AccessRequest(AccessLevel.Limited, new[] { "FirstName", "EmailAddress" });

        private const string NonAscii = "J\u00fcrgen \u00c6r\u00f8";

        private static HimsaException Fails(Action call)
        {
            try
            {
                call();
            }
            catch (HimsaException e)
            {
                Assert.IsNotNullOrEmpty(e.Message);
                return e;
            }
            Assert.Fail("no HimsaException was thrown");
            return null;
        }

        [Test]
        public void FlowEndsPartiallyGranted()
        {
            using (var sandbox = new SandboxProcess(
                "--auto-approve-after", "300", "--auto-grant", "Limited,FirstName"))
            using (var conn = sandbox.Connect())
            {
                Assert.IsNull(conn.GetCurrentAccess());

                var decision = conn.EnsureAccess(LimitedNeed);
                Assert.AreEqual(AccessOutcome.PendingApproval, decision.Outcome);
                Assert.IsTrue(decision.Requested);
                Assert.IsTrue(decision.UserCanApprove);
                StringAssert.StartsWith(sandbox.Url + "/portal/", decision.PortalUrl);
                Assert.IsNotNull(decision.Connection);
                StringAssert.Contains("PendingApproval", decision.Json);

                var connection = conn.GetAppConnection();
                Assert.AreEqual(decision.PortalUrl, connection.PortalUrl);
                Assert.IsTrue(connection.CurrentUserCanApprove);
                Assert.IsTrue(connection.Created.Value.HasValue);
                Assert.Greater(connection.Created.Value.Value.Year, 2020);

                var waited = conn.WaitForApproval(LimitedNeed, TimeSpan.FromSeconds(10));
                Assert.AreEqual(AccessOutcome.Denied, waited.Outcome);

                var access = conn.GetCurrentAccess();
                Assert.AreEqual(AccessState.Granted, access.LevelState(AccessLevel.Limited));
                Assert.AreEqual(AccessState.Granted, access.FieldState("FirstName"));
                Assert.AreEqual(AccessState.Denied, access.FieldState("EmailAddress"));
                Assert.IsNull(access.FieldState("LastName"));
                Assert.AreEqual("Limited", access.Levels[0].LevelText);
                Assert.AreEqual("Granted", access.Levels[0].AccessText);
                Assert.IsEmpty(access.Warnings);
                StringAssert.Contains("userAccountAccessLevels", conn.GetCurrentAccessJson());

                var again = conn.EnsureAccess(
                    new AccessRequest(AccessLevel.Limited, new[] { "FirstName" }));
                Assert.AreEqual(AccessOutcome.Granted, again.Outcome);
                Assert.IsFalse(again.Requested);
            }
        }

        [Test]
        public void NeverConnectedIsNotAFailure()
        {
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect())
            {
                Assert.IsNull(conn.GetCurrentAccess());
                Assert.IsNull(conn.GetCurrentAccessJson());
                var e = Fails(() => conn.GetAppConnection());
                Assert.AreEqual(HimsaStatus.NotFound, e.Status);
                Assert.AreEqual(404u, e.HttpStatus);
                var decision = conn.EnsureAccess(LimitedNeed, RequestPolicy.CheckOnly);
                Assert.AreEqual(AccessOutcome.NeverConnected, decision.Outcome);
                Assert.IsNull(decision.CurrentDataAccess);
            }
        }

        [Test]
        public void RequestAccessExactlyAsGiven()
        {
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect())
            {
                var first = conn.RequestAccess(new AccessRequest(AccessLevel.Basic));
                Assert.IsNull(first.CurrentDataAccess, "the first answer carries no access");
                Assert.IsNotNullOrEmpty(first.Id);

                var second = conn.RequestAccess(
                    new AccessRequest(AccessLevel.Basic, null, new long[] { 3, 7 }));
                Assert.AreEqual(2, second.CurrentDataAccess.DataTypes.Count);
                Assert.AreEqual(3L, second.CurrentDataAccess.DataTypes[0].DataType);
                Assert.AreEqual(
                    AccessState.PendingApproval, second.CurrentDataAccess.DataTypes[0].Access);
                StringAssert.Contains(
                    "appConnectionId", conn.RequestAccessJson(new AccessRequest(AccessLevel.Basic)));
            }
        }

        [Test]
        public void PartialGrantByAutoApprove()
        {
            using (var sandbox = new SandboxProcess(
                "--auto-approve-after", "100", "--auto-grant", "Basic,3"))
            using (var conn = sandbox.Connect())
            {
                var need = new AccessRequest(AccessLevel.Basic, new[] { "LastName" }, new long[] { 3 });
                Assert.AreEqual(AccessOutcome.PendingApproval, conn.EnsureAccess(need).Outcome);
                var decision = conn.WaitForApproval(need, TimeSpan.FromSeconds(10));
                Assert.AreEqual(AccessOutcome.Denied, decision.Outcome);
                var access = decision.CurrentDataAccess;
                Assert.AreEqual(AccessState.Granted, access.LevelState(AccessLevel.Basic));
                Assert.AreEqual(AccessState.Denied, access.FieldState("LastName"));
                Assert.AreEqual(AccessState.Granted, access.DataTypes.Single().Access);
            }
        }

        [Test]
        public void WaitTimesOutForAViewer()
        {
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect("viewer-token"))
            {
                var decision = conn.EnsureAccess(LimitedNeed);
                Assert.AreEqual(AccessOutcome.PendingApproval, decision.Outcome);
                Assert.IsFalse(decision.UserCanApprove);
                var e = Fails(() => conn.WaitForApproval(LimitedNeed, TimeSpan.FromMilliseconds(300)));
                Assert.AreEqual(HimsaStatus.Timeout, e.Status);
            }
        }

        [TestCase("current:status=403:1", HimsaStatus.Forbidden, 403u)]
        [TestCase("current:status=429:retry-after=1:1", HimsaStatus.RateLimited, 429u)]
        [TestCase("current:status=500:1", HimsaStatus.ServerError, 500u)]
        [TestCase("current:status=502:1", HimsaStatus.ServerError, 502u)]
        [TestCase("current:status=503:1", HimsaStatus.ServerError, 503u)]
        [TestCase("current:status=409:1", HimsaStatus.Conflict, 409u)]
        [TestCase("current:html:1", HimsaStatus.ServerError, 502u)]
        [TestCase("current:html=200:1", HimsaStatus.UnreadableAnswer, 200u)]
        [TestCase("current:truncated:1", HimsaStatus.UnreadableAnswer, 200u)]
        [TestCase("current:empty:1", HimsaStatus.UnreadableAnswer, 200u)]
        [TestCase("current:oversized=100000:1", HimsaStatus.AnswerTooLarge, 200u)]
        public void FaultBecomesStatus(string fault, HimsaStatus status, uint http)
        {
            var options = SandboxProcess.Quick();
            options.MaxAnswerBytes = 4096;
            using (var sandbox = new SandboxProcess("--fault", fault))
            using (var conn = sandbox.Connect("sandbox-token", options))
            {
                // Connected first, so that faults damaging the real answer damage a 200.
                conn.RequestAccess(new AccessRequest(AccessLevel.Limited));
                var e = Fails(() => conn.GetCurrentAccess());
                Assert.AreEqual(status, e.Status, e.Message);
                Assert.AreEqual(http, e.HttpStatus);
                Assert.IsNotNull(conn.GetCurrentAccess(), "the fault was armed once");
            }
        }

        [Test]
        public void ExpiredTokenThenReplacement()
        {
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect("expired-token"))
            {
                var e = Fails(() => conn.GetCurrentAccess());
                Assert.AreEqual(HimsaStatus.Unauthorized, e.Status);
                Assert.AreEqual(401u, e.HttpStatus);
                StringAssert.DoesNotContain("expired-token", e.Message);

                conn.SetAccessToken("sandbox-token");
                Assert.IsNull(conn.GetCurrentAccess());
            }
        }

        [Test]
        public void TwoThreadsShareOneConnection()
        {
            using (var sandbox = new SandboxProcess("--auto-approve-after", "100"))
            using (var conn = sandbox.Connect("sandbox-token", SandboxProcess.Quick(1)))
            {
                var need = new AccessRequest(AccessLevel.Basic);
                int failures = 0;
                var asker = new Thread(() =>
                {
                    for (int i = 0; i < 10; i++)
                    {
                        var outcome = conn.EnsureAccess(need).Outcome;
                        if (outcome != AccessOutcome.Granted && outcome != AccessOutcome.PendingApproval)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                });
                var failer = new Thread(() =>
                {
                    for (int i = 0; i < 10; i++)
                    {
                        try
                        {
                            conn.WaitForApproval(need, TimeSpan.Zero);
                            Interlocked.Increment(ref failures);
                        }
                        catch (HimsaException e)
                        {
                            if (e.Status != HimsaStatus.InvalidArgument || !e.Message.Contains("timeout_ms"))
                            {
                                Interlocked.Increment(ref failures);
                            }
                        }
                    }
                });
                asker.Start();
                failer.Start();
                asker.Join();
                failer.Join();
                Assert.AreEqual(0, failures);
                Assert.AreEqual(
                    AccessOutcome.Granted,
                    conn.WaitForApproval(need, TimeSpan.FromSeconds(10)).Outcome);
            }
        }

        [Test]
        public void UseAfterDisposeThrows()
        {
            using (var sandbox = new SandboxProcess())
            {
                var conn = sandbox.Connect();
                conn.Dispose();
                conn.Dispose();
                Assert.Throws<ObjectDisposedException>(() => conn.GetCurrentAccess());
                Assert.Throws<ObjectDisposedException>(() => conn.Cancel());
                Assert.Throws<ObjectDisposedException>(() => conn.SetAccessToken("x"));
                Assert.Throws<ObjectDisposedException>(() => conn.EnsureAccess(LimitedNeed));
                var task = conn.GetCurrentAccessAsync();
                var error = Assert.Throws<AggregateException>(() => task.Wait());
                Assert.IsInstanceOf<ObjectDisposedException>(error.InnerException);
            }
        }

        [Test]
        public void NonAsciiTextBothWays()
        {
            var options = SandboxProcess.Quick();
            options.UserAgent = NonAscii;
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect("sandbox-token", options))
            {
                conn.RequestAccess(new AccessRequest(AccessLevel.Limited, new[] { NonAscii }));
                var access = conn.GetCurrentAccess();
                Assert.AreEqual(AccessState.PendingApproval, access.FieldState(NonAscii));
                StringAssert.Contains(NonAscii, access.Json);
            }
        }

        [Test]
        public void InvalidArgumentsAreRefused()
        {
            using (var sandbox = new SandboxProcess())
            {
                Assert.Throws<ArgumentNullException>(
                    () => new HimsaConnection(sandbox.Url, SandboxProcess.Tenant, null));
                Assert.Throws<ArgumentException>(
                    () => new HimsaConnection(sandbox.Url, SandboxProcess.Tenant, "a\0b"));
                Assert.Throws<ArgumentException>(
                    () => new HimsaConnection(sandbox.Url, SandboxProcess.Tenant, "\ud800"));
                var e = Fails(() => new HimsaConnection("ftp://x", SandboxProcess.Tenant, "t"));
                Assert.AreEqual(HimsaStatus.InvalidArgument, e.Status);
                StringAssert.Contains("base_url", e.Message);
                var bad = SandboxProcess.Quick(11);
                e = Fails(() => sandbox.Connect("sandbox-token", bad));
                Assert.AreEqual(HimsaStatus.InvalidArgument, e.Status);
                using (var conn = sandbox.Connect())
                {
                    e = Fails(() => conn.EnsureAccess(new AccessRequest(AccessLevel.Unknown)));
                    Assert.AreEqual(HimsaStatus.InvalidArgument, e.Status);
                    StringAssert.Contains("level", e.Message);
                }
            }
        }

        [Test]
        public void CancellationTokenCancelsTheWait()
        {
            using (var sandbox = new SandboxProcess())
            using (var conn = sandbox.Connect("viewer-token"))
            using (var cancel = new CancellationTokenSource())
            {
                conn.EnsureAccess(LimitedNeed);
                var watch = Stopwatch.StartNew();
                var task = conn.WaitForApprovalAsync(LimitedNeed, TimeSpan.FromSeconds(30), cancel.Token);
                Thread.Sleep(300);
                cancel.Cancel();
                var error = Assert.Throws<AggregateException>(() => task.Wait());
                Assert.IsInstanceOf<OperationCanceledException>(error.InnerException);
                Assert.IsTrue(task.IsCanceled);
                Assert.Less(watch.ElapsedMilliseconds, 10000);

                // Cancel without a token: a HimsaException with status Cancelled.
                var plain = conn.WaitForApprovalAsync(LimitedNeed, TimeSpan.FromSeconds(30));
                Thread.Sleep(300);
                conn.Cancel();
                error = Assert.Throws<AggregateException>(() => plain.Wait());
                var himsa = (HimsaException)error.InnerException;
                Assert.AreEqual(HimsaStatus.Cancelled, himsa.Status);

                // A token cancelled before the start never reaches the library.
                var early = conn.GetCurrentAccessAsync(cancel.Token);
                Assert.Throws<AggregateException>(() => early.Wait());
                Assert.IsTrue(early.IsCanceled);
            }
        }

        [Test]
        public void AsyncCallsComplete()
        {
            using (var sandbox = new SandboxProcess("--auto-approve-after", "100"))
            using (var conn = sandbox.Connect())
            {
                Assert.IsNull(conn.GetCurrentAccessAsync().Result);
                var decision = conn.EnsureAccessAsync(LimitedNeed).Result;
                Assert.AreEqual(AccessOutcome.PendingApproval, decision.Outcome);
                Assert.IsNotNull(conn.GetAppConnectionAsync().Result);
                var waited = conn.WaitForApprovalAsync(LimitedNeed, TimeSpan.FromSeconds(10)).Result;
                Assert.AreEqual(AccessOutcome.Granted, waited.Outcome);
                Assert.IsNotNull(conn.RequestAccessAsync(LimitedNeed).Result);
            }
        }

        [Test]
        public void LogCallbackReceivesLines()
        {
            int lines = 0;
            var options = SandboxProcess.Quick();
            options.LogLevel = HimsaLogLevel.Debug;
            options.Log = (level, text) =>
            {
                Assert.IsFalse(text.Contains("sandbox-token"));
                Interlocked.Increment(ref lines);
            };
            using (var sandbox = new SandboxProcess())
            {
                using (var conn = sandbox.Connect("sandbox-token", options))
                {
                    options = null;
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    conn.EnsureAccess(LimitedNeed);
                }
                Assert.Greater(lines, 0);
            }
        }

        [Test]
        public void DeprecationNotice()
        {
            using (var sandbox = new SandboxProcess("--deprecated", "2030-06-30T00:00:00Z"))
            using (var conn = sandbox.Connect())
            {
                Assert.IsFalse(conn.GetDeprecation().IsDeprecated);
                conn.GetCurrentAccess();
                var notice = conn.GetDeprecation();
                Assert.IsTrue(notice.IsDeprecated);
                Assert.AreEqual("2030-06-30T00:00:00Z", notice.SunsetDate);
            }
        }

        [Test]
        public void VersionCheck()
        {
            Assert.AreEqual(HimsaLibrary.ExpectedVersion, HimsaLibrary.NativeVersion);
            Assert.IsTrue(HimsaLibrary.IsCompatible(HimsaLibrary.NativeVersion));
            Assert.IsTrue(HimsaLibrary.IsCompatible("0.1.9"));
            Assert.IsFalse(HimsaLibrary.IsCompatible("0.2.0"));
            Assert.IsFalse(HimsaLibrary.IsCompatible("1.1.0"));
            Assert.IsFalse(HimsaLibrary.IsCompatible("garbage"));
            Assert.IsFalse(HimsaLibrary.IsCompatible(null));
            StringAssert.StartsWith("UNAUTHORIZED:", HimsaException.StatusText(HimsaStatus.Unauthorized));
        }

        [Test]
        public void StatusEnumMatchesTheNativeLibraryBothWays()
        {
            // The managed enum is written by hand: every member must be a native status of
            // the same name, and every native status must have a member.
            var managed = new System.Collections.Generic.HashSet<uint>();
            foreach (HimsaStatus status in Enum.GetValues(typeof(HimsaStatus)))
            {
                managed.Add((uint)status);
                string name = System.Text.RegularExpressions.Regex
                    .Replace(status.ToString(), "(?<=[a-z0-9])([A-Z])", "_$1").ToUpperInvariant();
                StringAssert.StartsWith(name + ":", HimsaException.StatusText(status));
            }
            for (uint number = 0; number < 2000; number++)
            {
                string text = HimsaException.StatusText((HimsaStatus)number);
                bool native = !text.StartsWith("UNKNOWN_STATUS:", StringComparison.Ordinal);
                Assert.AreEqual(native, managed.Contains(number), "status " + number + ": " + text);
            }
        }
    }
}
