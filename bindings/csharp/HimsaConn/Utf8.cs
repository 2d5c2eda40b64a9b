using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Himsa.Conn
{
    /// <summary>
    /// UTF-8 both ways: strict going in (a lone surrogate or a NUL is refused before the
    /// call), lenient coming out (a bad sequence becomes U+FFFD).
    /// </summary>
    internal static class Utf8
    {
        private static readonly Encoding Strict = new UTF8Encoding(false, true);
        private static readonly Encoding Lenient = new UTF8Encoding(false, false);

        /// <summary>The NUL-terminated UTF-8 bytes of <paramref name="value"/>.</summary>
        internal static byte[] ToNative(string value, string paramName)
        {
            if (value == null)
            {
                throw new ArgumentNullException(paramName);
            }
            if (value.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("contains a NUL character", paramName);
            }
            byte[] bytes;
            try
            {
                bytes = Strict.GetBytes(value);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("is not valid Unicode text", paramName, e);
            }
            var terminated = new byte[bytes.Length + 1];
            Buffer.BlockCopy(bytes, 0, terminated, 0, bytes.Length);
            return terminated;
        }

        /// <summary>As <see cref="ToNative"/>, with null passed on as a NULL pointer.</summary>
        internal static byte[] ToNativeOrNull(string value, string paramName)
        {
            return value == null ? null : ToNative(value, paramName);
        }

        /// <summary>Decodes a NUL-terminated UTF-8 string the library owns; null for NULL.</summary>
        internal static string FromNative(IntPtr text)
        {
            if (text == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
            {
                length++;
            }
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Lenient.GetString(bytes);
        }

        /// <summary>Decodes and then frees a string the library handed out.</summary>
        internal static string TakeOwned(IntPtr text)
        {
            try
            {
                return FromNative(text);
            }
            finally
            {
                NativeMethods.himsa_string_free(text);
            }
        }
    }
}
