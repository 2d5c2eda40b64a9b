using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Himsa.Conn
{
    /// <summary>Copies the library's structs into managed values; the caller frees them.</summary>
    internal static class NativeConvert
    {
        private static IList<T> ReadArray<T>(IntPtr items, uint length)
            where T : struct
        {
            var list = new List<T>((int)length);
            int size = Marshal.SizeOf(typeof(T));
            for (int i = 0; i < (int)length; i++)
            {
                list.Add((T)Marshal.PtrToStructure(IntPtr.Add(items, i * size), typeof(T)));
            }
            return list;
        }

        private static IList<string> ReadStrings(IntPtr items, uint length)
        {
            var list = new List<string>((int)length);
            for (int i = 0; i < (int)length; i++)
            {
                list.Add(Utf8.FromNative(Marshal.ReadIntPtr(items, i * IntPtr.Size)));
            }
            return list;
        }

        internal static AccessLevel Level(uint level)
        {
            return level >= 1 && level <= 3 ? (AccessLevel)level : AccessLevel.Unknown;
        }

        internal static AccessState State(uint access)
        {
            return access >= 1 && access <= 3 ? (AccessState)access : AccessState.Unknown;
        }

        internal static AccessOutcome Outcome(uint outcome)
        {
            switch (outcome)
            {
                case 0: return AccessOutcome.Granted;
                case 1: return AccessOutcome.PendingApproval;
                case 2: return AccessOutcome.Denied;
                case 3: return AccessOutcome.NeverConnected;
                case 4: return AccessOutcome.NotRequested;
                default: return AccessOutcome.Unknown;
            }
        }

        private static HimsaTimestamp Timestamp(NativeTimestamp stamp)
        {
            DateTimeOffset? value = null;
            if (stamp.Valid != 0)
            {
                value = new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero)
                    .AddMilliseconds(stamp.UnixMs);
            }
            return new HimsaTimestamp(Utf8.FromNative(stamp.Text), value);
        }

        internal static DataAccess DataAccess(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero)
            {
                return null;
            }
            var c = (NativeDataAccess)Marshal.PtrToStructure(pointer, typeof(NativeDataAccess));
            var levels = new List<LevelAccess>();
            foreach (var e in ReadArray<NativeLevelAccess>(c.Levels, c.LevelsLen))
            {
                levels.Add(new LevelAccess(
                    Level(e.Level), Utf8.FromNative(e.LevelText), State(e.Access),
                    Utf8.FromNative(e.AccessText)));
            }
            var fields = new List<FieldAccess>();
            foreach (var e in ReadArray<NativeFieldAccess>(c.PatientFields, c.PatientFieldsLen))
            {
                fields.Add(new FieldAccess(
                    Utf8.FromNative(e.Field), State(e.Access), Utf8.FromNative(e.AccessText)));
            }
            var types = new List<DataTypeAccess>();
            foreach (var e in ReadArray<NativeDataTypeAccess>(c.DataTypes, c.DataTypesLen))
            {
                types.Add(new DataTypeAccess(
                    e.DataType, State(e.Access), Utf8.FromNative(e.AccessText)));
            }
            return new DataAccess(
                levels, fields, types, Timestamp(c.Created), ReadStrings(c.Warnings, c.WarningsLen),
                Utf8.FromNative(c.Json));
        }

        internal static AppConnection AppConnection(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero)
            {
                return null;
            }
            var c = (NativeAppConnection)Marshal.PtrToStructure(
                pointer, typeof(NativeAppConnection));
            return new AppConnection(
                Utf8.FromNative(c.AppConnectionId), Utf8.FromNative(c.AppPortalUrl),
                c.CurrentUserCanApprove != 0, DataAccess(c.CurrentDataAccess),
                Timestamp(c.Created), ReadStrings(c.Warnings, c.WarningsLen),
                Utf8.FromNative(c.Json));
        }

        internal static AccessDecision Decision(IntPtr pointer)
        {
            var c = (NativeDecision)Marshal.PtrToStructure(pointer, typeof(NativeDecision));
            return new AccessDecision(
                Outcome(c.Outcome), c.Outcome, c.Requested != 0, c.UserCanApprove != 0,
                Utf8.FromNative(c.PortalUrl), DataAccess(c.CurrentDataAccess),
                AppConnection(c.Connection), Utf8.FromNative(c.Json));
        }
    }

    /// <summary>
    /// A HimsaAccessRequest in unmanaged memory, built from an <see cref="AccessRequest"/>
    /// and freed on Dispose.
    /// </summary>
    internal sealed class NativeRequest : IDisposable
    {
        private readonly List<IntPtr> allocations = new List<IntPtr>();

        internal NativeAccessRequest Value;

        internal NativeRequest(AccessRequest request)
        {
            if (request == null)
            {
                throw new ArgumentNullException("request");
            }
            try
            {
                Value.Level = (uint)request.Level;
                int count = request.PatientFields.Count;
                if (count > 0)
                {
                    IntPtr array = Allocate(count * IntPtr.Size);
                    for (int i = 0; i < count; i++)
                    {
                        byte[] bytes = Utf8.ToNative(request.PatientFields[i], "PatientFields");
                        IntPtr text = Allocate(bytes.Length);
                        Marshal.Copy(bytes, 0, text, bytes.Length);
                        Marshal.WriteIntPtr(array, i * IntPtr.Size, text);
                    }
                    Value.PatientFields = array;
                    Value.PatientFieldsLen = (uint)count;
                }
                if (request.DataTypes.Count > 0)
                {
                    var types = new long[request.DataTypes.Count];
                    for (int i = 0; i < types.Length; i++)
                    {
                        types[i] = request.DataTypes[i];
                    }
                    IntPtr array = Allocate(types.Length * sizeof(long));
                    Marshal.Copy(types, 0, array, types.Length);
                    Value.DataTypes = array;
                    Value.DataTypesLen = (uint)types.Length;
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private IntPtr Allocate(int bytes)
        {
            IntPtr memory = Marshal.AllocHGlobal(bytes);
            allocations.Add(memory);
            return memory;
        }

        public void Dispose()
        {
            foreach (IntPtr memory in allocations)
            {
                Marshal.FreeHGlobal(memory);
            }
            allocations.Clear();
        }
    }
}
