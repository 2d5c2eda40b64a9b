// Per-call cost of reading the current data access from C# on Mono: through the library's
// C# wrapper (bindings/csharp/HimsaConn, built with -define:WRAPPER) or, without it,
// through P/Invoke read into managed objects as a wrapper does; against what a .NET
// developer would write without the library, HttpClient plus DataContractJsonSerializer (the JSON
// reader that .NET Framework 4.x and Mono ship; there is no System.Text.Json there).
//
// Usage: mono Bench.exe BASE_URL [CALLS]
// BASE_URL is a himsa-sandbox on the loopback interface (only loopback URLs are accepted).
// Prints `key<TAB>value` lines: medians and 99th percentiles in nanoseconds, peak resident
// memory in KiB. Every loop is bounded in count and time.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;

namespace HimsaConnBench
{
    static class Native
    {
        const string Lib = "himsa_conn";

        [DllImport(Lib)] public static extern uint himsa_options_new(out IntPtr options);
        [DllImport(Lib)] public static extern uint himsa_options_set_proxy(IntPtr options, byte[] proxyUrl);
        [DllImport(Lib)] public static extern void himsa_options_free(IntPtr options);
        [DllImport(Lib)] public static extern uint himsa_conn_new(byte[] baseUrl, byte[] tenantId, byte[] token, IntPtr options, out IntPtr conn);
        [DllImport(Lib)] public static extern void himsa_conn_free(IntPtr conn);
        [DllImport(Lib)] public static extern uint himsa_conn_request_json(IntPtr conn, ref AccessRequest request, out IntPtr json);
        [DllImport(Lib)] public static extern uint himsa_conn_current_access(IntPtr conn, out IntPtr access);
        [DllImport(Lib)] public static extern uint himsa_conn_current_access_json(IntPtr conn, out IntPtr json);
        [DllImport(Lib)] public static extern void himsa_data_access_free(IntPtr access);
        [DllImport(Lib)] public static extern void himsa_string_free(IntPtr text);
        [DllImport(Lib)] public static extern IntPtr himsa_last_error_message();

        public static byte[] Utf8(string text)
        {
            return Encoding.UTF8.GetBytes(text + "\0");
        }

        public static string FromUtf8(IntPtr text)
        {
            if (text == IntPtr.Zero) return null;
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0) length++;
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        public static void Check(uint status, string what)
        {
            if (status != 0)
                throw new InvalidOperationException(what + " failed with " + status + ": " + FromUtf8(himsa_last_error_message()));
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct AccessRequest
    {
        public uint Level;
        public IntPtr PatientFields;
        public uint PatientFieldsLen;
        public IntPtr DataTypes;
        public uint DataTypesLen;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct NativeLevelAccess
    {
        public uint Level;
        public uint Access;
        public IntPtr LevelText;
        public IntPtr AccessText;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct NativeTimestamp
    {
        public IntPtr Text;
        public long UnixMs;
        public byte Valid;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct NativeDataAccess
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

    // The managed form a wrapper hands to the app.
    sealed class LevelAccess
    {
        public uint Level;
        public uint Access;
        public string LevelText;
        public string AccessText;
    }

    sealed class DataAccess
    {
        public List<LevelAccess> Levels = new List<LevelAccess>();
        public string Created;
        public long CreatedUnixMs;
    }

    // What DataContractJsonSerializer reads the answer into.
    [DataContract]
    sealed class LevelEntry
    {
        [DataMember(Name = "accessLevel")] public string AccessLevel;
        [DataMember(Name = "access")] public string Access;
    }

    [DataContract]
    sealed class CurrentDataAccess
    {
        [DataMember(Name = "userAccountAccessLevels")] public List<LevelEntry> UserAccountAccessLevels;
        [DataMember(Name = "created")] public string Created;
    }

    static class Program
    {
        const string Tenant = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";
        const string Token = "sandbox-token";
        const int Round = 250;
        static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(90);

        static IntPtr conn;
#if WRAPPER
        static Himsa.Conn.HimsaConnection wrapped;

        static int WrapperStruct()
        {
            return wrapped.GetCurrentAccess().Levels.Count;
        }

        static int WrapperJson()
        {
            return wrapped.GetCurrentAccessJson().Length;
        }
#endif
        static HttpClient http;
        static string url;
        static readonly DataContractJsonSerializer Reader = new DataContractJsonSerializer(typeof(CurrentDataAccess));

        static int LibStruct()
        {
            IntPtr raw;
            Native.Check(Native.himsa_conn_current_access(conn, out raw), "himsa_conn_current_access");
            try
            {
                var native = (NativeDataAccess)Marshal.PtrToStructure(raw, typeof(NativeDataAccess));
                var access = new DataAccess();
                int size = Marshal.SizeOf(typeof(NativeLevelAccess));
                for (int i = 0; i < native.LevelsLen; i++)
                {
                    var entry = (NativeLevelAccess)Marshal.PtrToStructure(new IntPtr(native.Levels.ToInt64() + i * size), typeof(NativeLevelAccess));
                    access.Levels.Add(new LevelAccess
                    {
                        Level = entry.Level,
                        Access = entry.Access,
                        LevelText = Native.FromUtf8(entry.LevelText),
                        AccessText = Native.FromUtf8(entry.AccessText),
                    });
                }
                access.Created = Native.FromUtf8(native.Created.Text);
                access.CreatedUnixMs = native.Created.UnixMs;
                return access.Levels.Count;
            }
            finally
            {
                Native.himsa_data_access_free(raw);
            }
        }

        static int LibJson()
        {
            IntPtr raw;
            Native.Check(Native.himsa_conn_current_access_json(conn, out raw), "himsa_conn_current_access_json");
            try
            {
                return Native.FromUtf8(raw).Length;
            }
            finally
            {
                Native.himsa_string_free(raw);
            }
        }

        static int ViaHttpClient()
        {
            using (var request = new HttpRequestMessage(HttpMethod.Get, url))
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
                request.Headers.TryAddWithoutValidation("X-Api-Version", "1.0");
                request.Headers.TryAddWithoutValidation("Accept", "application/json");
                using (var response = http.SendAsync(request).Result)
                {
                    if ((int)response.StatusCode != 200)
                        throw new InvalidOperationException("HttpClient got " + (int)response.StatusCode);
                    var bytes = response.Content.ReadAsByteArrayAsync().Result;
                    using (var stream = new MemoryStream(bytes))
                    {
                        var access = (CurrentDataAccess)Reader.ReadObject(stream);
                        return access.UserAccountAccessLevels.Count;
                    }
                }
            }
        }

        static void Report(string name, List<long> ticks)
        {
            ticks.Sort();
            double toNs = 1e9 / Stopwatch.Frequency;
            int median = (ticks.Count + 1) / 2 - 1;
            int p99 = Math.Max(1, (int)Math.Ceiling(ticks.Count * 0.99)) - 1;
            Console.WriteLine("cs.{0}.median_ns\t{1:F0}", name, ticks[median] * toNs);
            Console.WriteLine("cs.{0}.p99_ns\t{1:F0}", name, ticks[p99] * toNs);
            Console.WriteLine("cs.{0}.samples\t{1}", name, ticks.Count);
        }

        static long PeakRssKb()
        {
            foreach (var line in File.ReadAllLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:"))
                    return long.Parse(line.Substring(6).Trim().Split(' ')[0]);
            return 0;
        }

        static int Main(string[] args)
        {
            if (args.Length < 1 || !(args[0].StartsWith("http://127.") || args[0].StartsWith("http://[::1]") || args[0].StartsWith("http://localhost")))
            {
                Console.Error.WriteLine("usage: mono Bench.exe http://127.0.0.1:PORT [CALLS]");
                return 2;
            }
            string baseUrl = args[0];
            int calls = args.Length > 1 ? int.Parse(args[1]) : 10000;
            calls = Math.Max(Round, calls - calls % Round);
            url = baseUrl + "/" + Tenant + "/api/AppConnection/GetCurrentDataAccess";

            IntPtr options;
            Native.Check(Native.himsa_options_new(out options), "himsa_options_new");
            Native.Check(Native.himsa_options_set_proxy(options, Native.Utf8("")), "himsa_options_set_proxy");
            Native.Check(Native.himsa_conn_new(Native.Utf8(baseUrl), Native.Utf8(Tenant), Native.Utf8(Token), options, out conn), "himsa_conn_new");
            Native.himsa_options_free(options);

            var basic = new AccessRequest { Level = 2 };
            IntPtr answer;
            Native.Check(Native.himsa_conn_request_json(conn, ref basic, out answer), "himsa_conn_request_json");
            Native.himsa_string_free(answer);

            // Loopback only, and never through a proxy from the environment.
            http = new HttpClient(new HttpClientHandler { UseProxy = false });

            Func<int> libStruct = LibStruct, libJson = LibJson;
            string binding = "P/Invoke in bench/csharp/Bench.cs (the C# wrapper did not build)";
#if WRAPPER
            wrapped = new Himsa.Conn.HimsaConnection(baseUrl, Tenant, Token, new Himsa.Conn.HimsaOptions { Proxy = "" });
            libStruct = WrapperStruct;
            libJson = WrapperJson;
            binding = "the C# wrapper bindings/csharp/HimsaConn";
#endif
            var variants = new List<KeyValuePair<string, Func<int>>>
            {
                new KeyValuePair<string, Func<int>>("lib_struct", libStruct),
                new KeyValuePair<string, Func<int>>("lib_json", libJson),
                new KeyValuePair<string, Func<int>>("httpclient", ViaHttpClient),
            };
            foreach (var v in variants)
                for (int i = 0; i < 500; i++) v.Value();

            var samples = new List<long>[variants.Count];
            for (int v = 0; v < variants.Count; v++) samples[v] = new List<long>(calls);
            var clock = Stopwatch.StartNew();
            for (int round = 0; round * Round < calls && clock.Elapsed < TimeLimit; round++)
            {
                for (int k = 0; k < variants.Count; k++)
                {
                    int v = (round + k) % variants.Count;
                    var call = variants[v].Value;
                    for (int i = 0; i < Round; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        call();
                        samples[v].Add(Stopwatch.GetTimestamp() - t0);
                    }
                }
            }
            Native.himsa_conn_free(conn);
            http.Dispose();
#if WRAPPER
            wrapped.Dispose();
#endif

            for (int v = 0; v < variants.Count; v++) Report(variants[v].Key, samples[v]);
            Console.WriteLine("cs.peak_rss_kb\t{0}", PeakRssKb());
            Console.WriteLine("cs.binding\t" + binding);
            Console.WriteLine("cs.json_reader\tDataContractJsonSerializer (System.Runtime.Serialization)");
            return 0;
        }
    }
}
