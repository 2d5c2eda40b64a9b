using System;
using System.Runtime.InteropServices;

namespace Himsa.Conn
{
    /// <summary>Receives a log line from the library (C signature of HimsaLogCallback).</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void NativeLogCallback(uint level, IntPtr message, IntPtr userData);

    /// <summary>
    /// The C functions of himsa_conn, one to one. Strings go in as NUL-terminated UTF-8 byte
    /// arrays and come out as pointers decoded by <see cref="Utf8"/>; what the library hands
    /// out is released only by its own free functions.
    /// </summary>
    internal static class NativeMethods
    {
        private const string Library = "himsa_conn";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_last_status();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_last_http_status();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr himsa_last_error_message();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr himsa_status_text(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr himsa_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_new(
            byte[] baseUrl, byte[] tenantId, byte[] accessToken, OptionsHandle options,
            out ConnectionHandle conn);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_conn_free(IntPtr conn);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_set_access_token(
            ConnectionHandle conn, byte[] accessToken);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_cancel(ConnectionHandle conn);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_deprecation(
            ConnectionHandle conn, out byte deprecated, out IntPtr sunsetDate);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_current_access(
            ConnectionHandle conn, out IntPtr access);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_current_access_json(
            ConnectionHandle conn, out IntPtr json);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_request(
            ConnectionHandle conn, ref NativeAccessRequest request, out IntPtr connection);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_request_json(
            ConnectionHandle conn, ref NativeAccessRequest request, out IntPtr json);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_app_connection(
            ConnectionHandle conn, out IntPtr connection);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_ensure_access(
            ConnectionHandle conn, ref NativeAccessRequest need, uint policy, out IntPtr decision);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_conn_wait_for_approval(
            ConnectionHandle conn, ref NativeAccessRequest need, long timeoutMs,
            out IntPtr decision);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_new(out OptionsHandle options);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_options_free(IntPtr options);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_user_agent(
            OptionsHandle options, byte[] userAgent);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_timeouts(
            OptionsHandle options, uint connectMs, uint requestMs, uint overallMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_retries(
            OptionsHandle options, uint maxRetries, uint maxWaitMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_proxy(OptionsHandle options, byte[] proxyUrl);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_add_ca_pem(OptionsHandle options, byte[] pem);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_max_answer_bytes(
            OptionsHandle options, ulong maxBytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_poll_interval(
            OptionsHandle options, uint firstMs, uint longestMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint himsa_options_set_log_callback(
            OptionsHandle options, NativeLogCallback callback, IntPtr userData, uint maxLevel);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_string_free(IntPtr text);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_data_access_free(IntPtr access);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_app_connection_free(IntPtr connection);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void himsa_decision_free(IntPtr decision);

        /// <summary>
        /// The one place where a failed status becomes an exception: the detail is read at
        /// once, on the calling thread, before anything else can call the library.
        /// </summary>
        internal static void Check(uint status)
        {
            if (status == 0)
            {
                return;
            }
            uint http = himsa_last_http_status();
            string message = Utf8.FromNative(himsa_last_error_message());
            throw new HimsaException((HimsaStatus)status, http, message);
        }
    }

    // Mirrors of the C structs, field for field. bool is never used: uint8_t is byte.

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeLevelAccess
    {
        public uint Level;
        public uint Access;
        public IntPtr LevelText;
        public IntPtr AccessText;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeFieldAccess
    {
        public IntPtr Field;
        public uint Access;
        public IntPtr AccessText;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeDataTypeAccess
    {
        public long DataType;
        public uint Access;
        public IntPtr AccessText;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeTimestamp
    {
        public IntPtr Text;
        public long UnixMs;
        public byte Valid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeDataAccess
    {
        public IntPtr Levels;
        public uint LevelsLen;
        public IntPtr PatientFields;
        public uint PatientFieldsLen;
        public IntPtr DataTypes;
        public uint DataTypesLen;
        public NativeTimestamp Created;
        public IntPtr Warnings;
        public uint WarningsLen;
        public IntPtr Json;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeAppConnection
    {
        public IntPtr AppConnectionId;
        public IntPtr AppPortalUrl;
        public byte CurrentUserCanApprove;
        public IntPtr CurrentDataAccess;
        public NativeTimestamp Created;
        public IntPtr Warnings;
        public uint WarningsLen;
        public IntPtr Json;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeDecision
    {
        public uint Outcome;
        public byte Requested;
        public byte UserCanApprove;
        public IntPtr PortalUrl;
        public IntPtr CurrentDataAccess;
        public IntPtr Connection;
        public IntPtr Json;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeAccessRequest
    {
        public uint Level;
        public IntPtr PatientFields;
        public uint PatientFieldsLen;
        public IntPtr DataTypes;
        public uint DataTypesLen;
    }
}
