using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;

namespace Himsa.Conn.Tests
{
    /// <summary>
    /// A himsa-sandbox process started with --exit-on-stdin-close, found through the
    /// HIMSA_SANDBOX environment variable; killed on Dispose.
    /// </summary>
    internal sealed class SandboxProcess : IDisposable
    {
        internal const string Tenant = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";

        private readonly Process process;

        internal SandboxProcess(params string[] args)
        {
            string binary = Environment.GetEnvironmentVariable("HIMSA_SANDBOX");
            if (string.IsNullOrEmpty(binary))
            {
                throw new InvalidOperationException(
                    "set HIMSA_SANDBOX to the path of the himsa-sandbox binary");
            }
            var info = new ProcessStartInfo(binary)
            {
                Arguments = string.Join(" ", new[] { "--exit-on-stdin-close" }.Concat(args)),
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = Encoding.UTF8,
            };
            process = Process.Start(info);
            string line = process.StandardOutput.ReadLine();
            if (line == null || !line.StartsWith("http://", StringComparison.Ordinal))
            {
                Dispose();
                throw new InvalidOperationException("himsa-sandbox printed no base URL: " + line);
            }
            Url = line.Trim();
            // Keep reading so that the sandbox never blocks on a full pipe.
            var output = process.StandardOutput;
            var errors = process.StandardError;
            new Thread(() => output.ReadToEnd()) { IsBackground = true }.Start();
            new Thread(() => errors.ReadToEnd()) { IsBackground = true }.Start();
        }

        internal string Url { get; private set; }

        internal HimsaConnection Connect(string token = "sandbox-token", HimsaOptions options = null)
        {
            return new HimsaConnection(Url, Tenant, token, options ?? Quick());
        }

        /// <summary>Options for quick tests: short polls and timeouts, no retries.</summary>
        internal static HimsaOptions Quick(int retries = 0)
        {
            return new HimsaOptions
            {
                FirstPollInterval = TimeSpan.FromMilliseconds(50),
                LongestPollInterval = TimeSpan.FromMilliseconds(200),
                ConnectTimeout = TimeSpan.FromSeconds(2),
                RequestTimeout = TimeSpan.FromSeconds(5),
                OverallTimeout = TimeSpan.FromSeconds(15),
                MaxRetries = retries,
                MaxRetryWait = TimeSpan.FromSeconds(3),
                Proxy = "",
            };
        }

        public void Dispose()
        {
            try
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(2000))
                {
                    process.Kill();
                    process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
    }
}
