using System;
using System.Threading;
using System.Threading.Tasks;

namespace Himsa.Conn
{
    /// <summary>
    /// A connection to the HIMSA App Connection API for one tenant. Thread-safe: every
    /// member may be called from many threads at once. Dispose it when done; a connection
    /// that is not disposed is released by the finalizer of its handle.
    /// </summary>
    public sealed class HimsaConnection : IDisposable
    {
        private readonly ConnectionHandle handle;

        /// <summary>
        /// Creates the connection; nothing is sent until the first call. <paramref name="baseUrl"/>
        /// is the ID token's api claim, <paramref name="tenantId"/> its tenantid claim.
        /// </summary>
        /// <exception cref="HimsaException">An argument or option is invalid.</exception>
        /// <exception cref="InvalidOperationException">The native library's version does not
        /// fit this wrapper.</exception>
        public HimsaConnection(
            string baseUrl, string tenantId, string accessToken, HimsaOptions options = null)
        {
            HimsaLibrary.EnsureCompatible();
            byte[] url = Utf8.ToNative(baseUrl, "baseUrl");
            byte[] tenant = Utf8.ToNative(tenantId, "tenantId");
            byte[] token = Utf8.ToNative(accessToken, "accessToken");

            NativeLogCallback callback;
            using (OptionsHandle native = (options ?? new HimsaOptions()).Build(out callback))
            {
                ConnectionHandle created;
                uint status = NativeMethods.himsa_conn_new(url, tenant, token, native, out created);
                NativeMethods.Check(status);
                created.KeepAlive = callback;
                handle = created;
            }
        }

        private ConnectionHandle Handle
        {
            get
            {
                if (handle.IsClosed)
                {
                    throw new ObjectDisposedException(GetType().Name);
                }
                return handle;
            }
        }

        /// <summary>The app's current data access, or null when it was never connected.</summary>
        public DataAccess GetCurrentAccess()
        {
            IntPtr access;
            uint status = NativeMethods.himsa_conn_current_access(Handle, out access);
            if (status == (uint)HimsaStatus.NeverConnected)
            {
                return null;
            }
            NativeMethods.Check(status);
            try
            {
                return NativeConvert.DataAccess(access);
            }
            finally
            {
                NativeMethods.himsa_data_access_free(access);
            }
        }

        /// <summary>The current access as the service sent it, or null when never connected.</summary>
        public string GetCurrentAccessJson()
        {
            IntPtr json;
            uint status = NativeMethods.himsa_conn_current_access_json(Handle, out json);
            if (status == (uint)HimsaStatus.NeverConnected)
            {
                return null;
            }
            NativeMethods.Check(status);
            return Utf8.TakeOwned(json);
        }

        /// <summary>
        /// Asks for exactly <paramref name="request"/>. Prefer <see cref="EnsureAccess"/>,
        /// which never asks for less than is already granted.
        /// </summary>
        public AppConnection RequestAccess(AccessRequest request)
        {
            using (var native = new NativeRequest(request))
            {
                IntPtr connection;
                NativeMethods.Check(NativeMethods.himsa_conn_request(
                    Handle, ref native.Value, out connection));
                return TakeAppConnection(connection);
            }
        }

        /// <summary>As <see cref="RequestAccess"/>, with the answer's JSON as sent.</summary>
        public string RequestAccessJson(AccessRequest request)
        {
            using (var native = new NativeRequest(request))
            {
                IntPtr json;
                NativeMethods.Check(NativeMethods.himsa_conn_request_json(
                    Handle, ref native.Value, out json));
                return Utf8.TakeOwned(json);
            }
        }

        /// <summary>The app connection (portal URL, whether this user may approve).</summary>
        /// <exception cref="HimsaException">Status NotFound when the app never asked.</exception>
        public AppConnection GetAppConnection()
        {
            IntPtr connection;
            NativeMethods.Check(NativeMethods.himsa_conn_app_connection(Handle, out connection));
            return TakeAppConnection(connection);
        }

        private static AppConnection TakeAppConnection(IntPtr connection)
        {
            try
            {
                return NativeConvert.AppConnection(connection);
            }
            finally
            {
                NativeMethods.himsa_app_connection_free(connection);
            }
        }

        /// <summary>
        /// Decides for <paramref name="need"/> and, as <paramref name="policy"/> allows, asks
        /// for it, never for less than is already granted or pending.
        /// </summary>
        public AccessDecision EnsureAccess(AccessRequest need, RequestPolicy policy = RequestPolicy.IfNeeded)
        {
            using (var native = new NativeRequest(need))
            {
                IntPtr decision;
                NativeMethods.Check(NativeMethods.himsa_conn_ensure_access(
                    Handle, ref native.Value, (uint)policy, out decision));
                return TakeDecision(decision);
            }
        }

        /// <summary>
        /// Waits until <paramref name="need"/> is granted or denied, polling.
        /// </summary>
        /// <exception cref="HimsaException">Status Timeout when still pending at the end of
        /// <paramref name="timeout"/>, Cancelled after <see cref="Cancel"/>.</exception>
        public AccessDecision WaitForApproval(AccessRequest need, TimeSpan timeout)
        {
            using (var native = new NativeRequest(need))
            {
                IntPtr decision;
                NativeMethods.Check(NativeMethods.himsa_conn_wait_for_approval(
                    Handle, ref native.Value, (long)timeout.TotalMilliseconds, out decision));
                return TakeDecision(decision);
            }
        }

        private static AccessDecision TakeDecision(IntPtr decision)
        {
            try
            {
                return NativeConvert.Decision(decision);
            }
            finally
            {
                NativeMethods.himsa_decision_free(decision);
            }
        }

        /// <summary>Replaces the access token for the calls that start afterwards.</summary>
        public void SetAccessToken(string accessToken)
        {
            byte[] token = Utf8.ToNative(accessToken, "accessToken");
            NativeMethods.Check(NativeMethods.himsa_conn_set_access_token(Handle, token));
        }

        /// <summary>
        /// Cancels every call in progress on this connection, from any thread; they fail with
        /// status Cancelled. Calls started afterwards are not affected.
        /// </summary>
        public void Cancel()
        {
            NativeMethods.Check(NativeMethods.himsa_conn_cancel(Handle));
        }

        /// <summary>The deprecation notice of the latest answer that carried one.</summary>
        public Deprecation GetDeprecation()
        {
            byte deprecated;
            IntPtr sunset;
            NativeMethods.Check(NativeMethods.himsa_conn_deprecation(
                Handle, out deprecated, out sunset));
            return new Deprecation(deprecated != 0, Utf8.TakeOwned(sunset));
        }

        public Task<DataAccess> GetCurrentAccessAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return RunAsync(GetCurrentAccess, cancellationToken);
        }

        public Task<AppConnection> RequestAccessAsync(
            AccessRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            return RunAsync(() => RequestAccess(request), cancellationToken);
        }

        public Task<AppConnection> GetAppConnectionAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return RunAsync(GetAppConnection, cancellationToken);
        }

        public Task<AccessDecision> EnsureAccessAsync(
            AccessRequest need, RequestPolicy policy = RequestPolicy.IfNeeded,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return RunAsync(() => EnsureAccess(need, policy), cancellationToken);
        }

        /// <summary>
        /// As <see cref="WaitForApproval"/> on a dedicated thread; cancelling the token
        /// cancels the wait and the task ends as cancelled.
        /// </summary>
        public Task<AccessDecision> WaitForApprovalAsync(
            AccessRequest need, TimeSpan timeout,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return RunAsync(() => WaitForApproval(need, timeout), cancellationToken);
        }

        /// <summary>
        /// Runs a blocking call on its own thread, with the token wired to <see cref="Cancel"/>.
        /// Limitation: the native cancel ends every call in progress on this connection, not
        /// only this one, and a token cancelled in the instant between its check and the
        /// start of the native call is seen only when that call ends.
        /// </summary>
        private Task<T> RunAsync<T>(Func<T> call, CancellationToken cancellationToken)
        {
            return Task.Factory.StartNew(
                () =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using (cancellationToken.Register(CancelQuietly))
                    {
                        try
                        {
                            return call();
                        }
                        catch (HimsaException e)
                        {
                            if (e.Status == HimsaStatus.Cancelled
                                && cancellationToken.IsCancellationRequested)
                            {
                                throw new OperationCanceledException(e.Message, e, cancellationToken);
                            }
                            throw;
                        }
                    }
                },
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        private void CancelQuietly()
        {
            try
            {
                Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile: nothing is left to cancel.
            }
        }

        /// <summary>Frees the native connection; later calls throw ObjectDisposedException.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
