using System;
using System.Runtime.InteropServices;

namespace Himsa.Conn
{
    /// <summary>Owns a native HimsaConn; releases it with himsa_conn_free.</summary>
    internal sealed class ConnectionHandle : SafeHandle
    {
        private ConnectionHandle()
            : base(IntPtr.Zero, true)
        {
        }

        /// <summary>
        /// What the native connection calls back into (the log delegate): it must live as
        /// long as the handle, so the handle holds it.
        /// </summary>
        internal object KeepAlive { get; set; }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.himsa_conn_free(handle);
            return true;
        }
    }

    /// <summary>Owns native HimsaOptions; releases them with himsa_options_free.</summary>
    internal sealed class OptionsHandle : SafeHandle
    {
        private OptionsHandle()
            : base(IntPtr.Zero, true)
        {
        }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.himsa_options_free(handle);
            return true;
        }
    }
}
