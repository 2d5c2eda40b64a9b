using System;
using System.Collections.Generic;

namespace Himsa.Conn
{
    /// <summary>
    /// Settings for a connection, applied when it is created; a setting left null keeps the
    /// library's default. Invalid values are reported by the HimsaConnection constructor.
    /// </summary>
    public sealed class HimsaOptions
    {
        private readonly List<string> caPems = new List<string>();

        /// <summary>The User-Agent sent with every request.</summary>
        public string UserAgent { get; set; }

        public TimeSpan? ConnectTimeout { get; set; }
        public TimeSpan? RequestTimeout { get; set; }
        public TimeSpan? OverallTimeout { get; set; }

        /// <summary>Retries of a failed attempt (0 to 10).</summary>
        public int? MaxRetries { get; set; }

        public TimeSpan? MaxRetryWait { get; set; }

        /// <summary>A proxy URL; "" connects directly; null uses the environment.</summary>
        public string Proxy { get; set; }

        public long? MaxAnswerBytes { get; set; }
        public TimeSpan? FirstPollInterval { get; set; }
        public TimeSpan? LongestPollInterval { get; set; }

        /// <summary>
        /// Receives log lines up to <see cref="LogLevel"/>; called on the thread making the
        /// call, and must not call into the library. Exceptions it throws are dropped.
        /// </summary>
        public Action<HimsaLogLevel, string> Log { get; set; }

        public HimsaLogLevel LogLevel { get; set; }

        public HimsaOptions()
        {
            LogLevel = HimsaLogLevel.Info;
        }

        /// <summary>Adds CA certificates (PEM) trusted besides the system's store.</summary>
        public HimsaOptions AddCaPem(string pem)
        {
            if (pem == null)
            {
                throw new ArgumentNullException("pem");
            }
            caPems.Add(pem);
            return this;
        }

        private static uint Ms(TimeSpan value)
        {
            double ms = Math.Round(value.TotalMilliseconds);
            return ms <= 0 ? 0u : ms >= uint.MaxValue ? uint.MaxValue : (uint)ms;
        }

        /// <summary>
        /// Native options with these settings, and the delegate the native side calls (to be
        /// kept alive by the connection handle).
        /// </summary>
        internal OptionsHandle Build(out NativeLogCallback callback)
        {
            callback = null;
            OptionsHandle options;
            NativeMethods.Check(NativeMethods.himsa_options_new(out options));
            try
            {
                if (UserAgent != null)
                {
                    NativeMethods.Check(NativeMethods.himsa_options_set_user_agent(
                        options, Utf8.ToNative(UserAgent, "UserAgent")));
                }
                if (ConnectTimeout.HasValue || RequestTimeout.HasValue || OverallTimeout.HasValue)
                {
                    NativeMethods.Check(NativeMethods.himsa_options_set_timeouts(
                        options,
                        Ms(ConnectTimeout ?? TimeSpan.FromSeconds(10)),
                        Ms(RequestTimeout ?? TimeSpan.FromSeconds(30)),
                        Ms(OverallTimeout ?? TimeSpan.FromSeconds(60))));
                }
                if (MaxRetries.HasValue || MaxRetryWait.HasValue)
                {
                    int retries = MaxRetries ?? 2;
                    NativeMethods.Check(NativeMethods.himsa_options_set_retries(
                        options, retries < 0 ? uint.MaxValue : (uint)retries,
                        Ms(MaxRetryWait ?? TimeSpan.FromSeconds(10))));
                }
                if (Proxy != null)
                {
                    NativeMethods.Check(NativeMethods.himsa_options_set_proxy(
                        options, Utf8.ToNative(Proxy, "Proxy")));
                }
                foreach (string pem in caPems)
                {
                    NativeMethods.Check(NativeMethods.himsa_options_add_ca_pem(
                        options, Utf8.ToNative(pem, "pem")));
                }
                if (MaxAnswerBytes.HasValue)
                {
                    long bytes = MaxAnswerBytes.Value;
                    NativeMethods.Check(NativeMethods.himsa_options_set_max_answer_bytes(
                        options, bytes < 0 ? 0 : (ulong)bytes));
                }
                if (FirstPollInterval.HasValue || LongestPollInterval.HasValue)
                {
                    NativeMethods.Check(NativeMethods.himsa_options_set_poll_interval(
                        options, Ms(FirstPollInterval ?? TimeSpan.FromSeconds(2)),
                        Ms(LongestPollInterval ?? TimeSpan.FromSeconds(30))));
                }
                if (Log != null)
                {
                    Action<HimsaLogLevel, string> log = Log;
                    callback = (level, message, userData) =>
                    {
                        try
                        {
                            log((HimsaLogLevel)level, Utf8.FromNative(message));
                        }
                        catch (Exception)
                        {
                            // An exception must not unwind into the native library.
                        }
                    };
                    NativeMethods.Check(NativeMethods.himsa_options_set_log_callback(
                        options, callback, IntPtr.Zero, (uint)LogLevel));
                }
                return options;
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }
    }
}
