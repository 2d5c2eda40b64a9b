using System;

namespace Himsa.Conn
{
    /// <summary>Facts about the loaded native library.</summary>
    public static class HimsaLibrary
    {
        /// <summary>The native library version this wrapper was written for.</summary>
        public const string ExpectedVersion = "0.1.0";

        private static readonly object Gate = new object();
        private static string checkedVersion;

        /// <summary>The version of the loaded native library (himsa_version).</summary>
        public static string NativeVersion
        {
            get { return Utf8.FromNative(NativeMethods.himsa_version()); }
        }

        /// <summary>
        /// Whether a native version fits this wrapper: the same major and minor version (a
        /// 0.x minor release may change the ABI); the patch may differ.
        /// </summary>
        public static bool IsCompatible(string nativeVersion)
        {
            if (string.IsNullOrEmpty(nativeVersion))
            {
                return false;
            }
            string[] native = nativeVersion.Split('.');
            string[] expected = ExpectedVersion.Split('.');
            return native.Length >= 3 && native[0] == expected[0] && native[1] == expected[1];
        }

        /// <summary>
        /// Throws unless the loaded library fits; called before the first native call of a
        /// connection, so a mismatched library fails at once and loudly.
        /// </summary>
        internal static void EnsureCompatible()
        {
            lock (Gate)
            {
                if (checkedVersion != null)
                {
                    return;
                }
                string native = NativeVersion;
                if (!IsCompatible(native))
                {
                    throw new InvalidOperationException(string.Format(
                        "the native himsa_conn library is version {0}, but this wrapper was "
                        + "written for {1}; install the matching native library",
                        native, ExpectedVersion));
                }
                checkedVersion = native;
            }
        }
    }
}
