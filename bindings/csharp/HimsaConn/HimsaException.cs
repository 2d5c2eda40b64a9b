using System;

namespace Himsa.Conn
{
    /// <summary>Outcome of a native call; the numbers are the C library's and never change.</summary>
    public enum HimsaStatus : uint
    {
        Ok = 0,
        NeverConnected = 1,
        InvalidArgument = 100,
        InvalidUtf8 = 101,
        Network = 200,
        Timeout = 201,
        Tls = 202,
        Proxy = 203,
        UnreadableAnswer = 300,
        AnswerTooLarge = 301,
        BadRequest = 400,
        Unauthorized = 401,
        Forbidden = 403,
        NotFound = 404,
        Conflict = 409,
        RateLimited = 429,
        HttpClientError = 499,
        ServerError = 500,
        Cancelled = 600,
        Internal = 900,
    }

    /// <summary>
    /// A failed call of the library: its status, the HTTP status the service answered (0 when
    /// none) and the library's message, which says what failed and what to do about it.
    /// </summary>
    [Serializable]
    public class HimsaException : Exception
    {
        public HimsaException(HimsaStatus status, uint httpStatus, string message)
            : base(string.IsNullOrEmpty(message) ? StatusText(status) : message)
        {
            Status = status;
            HttpStatus = httpStatus;
        }

        /// <summary>The status; a number this version does not name stays as it came.</summary>
        public HimsaStatus Status { get; private set; }

        /// <summary>The HTTP status of the service's answer, or 0 when there was none.</summary>
        public uint HttpStatus { get; private set; }

        /// <summary>The status' name and meaning, for example "UNAUTHORIZED: ...".</summary>
        public static string StatusText(HimsaStatus status)
        {
            return Utf8.FromNative(NativeMethods.himsa_status_text((uint)status));
        }

        public override string ToString()
        {
            return string.Format("HimsaException {0} (HTTP {1}): {2}", Status, HttpStatus, Message);
        }
    }
}
