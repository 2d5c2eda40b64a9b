using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;

namespace Himsa.Conn
{
    /// <summary>A user account access level; Unknown for a level this version does not know.</summary>
    public enum AccessLevel
    {
        Unknown = 0,
        Limited = 1,
        Basic = 2,
        Advanced = 3,
    }

    /// <summary>The state of one item; Unknown for a state this version does not know.</summary>
    public enum AccessState
    {
        Unknown = 0,
        Granted = 1,
        Denied = 2,
        PendingApproval = 3,
    }

    /// <summary>What the app can do now.</summary>
    public enum AccessOutcome
    {
        /// <summary>An outcome this version does not know; see RawOutcome.</summary>
        Unknown = 0,
        Granted,
        PendingApproval,
        Denied,
        NeverConnected,
        NotRequested,
    }

    /// <summary>Whether EnsureAccess may post a request.</summary>
    public enum RequestPolicy : uint
    {
        CheckOnly = 0,
        IfNeeded = 1,
        Always = 2,
    }

    /// <summary>Severity of a log line.</summary>
    public enum HimsaLogLevel : uint
    {
        Error = 1,
        Warn = 2,
        Info = 3,
        Debug = 4,
    }

    /// <summary>One level and its state, with both as the service wrote them.</summary>
    public sealed class LevelAccess
    {
        internal LevelAccess(AccessLevel level, string levelText, AccessState access, string accessText)
        {
            Level = level;
            LevelText = levelText;
            Access = access;
            AccessText = accessText;
        }

        public AccessLevel Level { get; private set; }
        public string LevelText { get; private set; }
        public AccessState Access { get; private set; }
        public string AccessText { get; private set; }
    }

    /// <summary>One patient field and its state.</summary>
    public sealed class FieldAccess
    {
        internal FieldAccess(string field, AccessState access, string accessText)
        {
            Field = field;
            Access = access;
            AccessText = accessText;
        }

        public string Field { get; private set; }
        public AccessState Access { get; private set; }
        public string AccessText { get; private set; }
    }

    /// <summary>One data type and its state.</summary>
    public sealed class DataTypeAccess
    {
        internal DataTypeAccess(long dataType, AccessState access, string accessText)
        {
            DataType = dataType;
            Access = access;
            AccessText = accessText;
        }

        public long DataType { get; private set; }
        public AccessState Access { get; private set; }
        public string AccessText { get; private set; }
    }

    /// <summary>A timestamp as sent, and its instant when it could be read.</summary>
    public sealed class HimsaTimestamp
    {
        internal HimsaTimestamp(string text, DateTimeOffset? value)
        {
            Text = text;
            Value = value;
        }

        /// <summary>The text as the service sent it, or null when the answer had none.</summary>
        public string Text { get; private set; }

        /// <summary>The instant (UTC), or null when the text could not be read.</summary>
        public DateTimeOffset? Value { get; private set; }
    }

    /// <summary>The app's current data access in the tenant.</summary>
    public sealed class DataAccess
    {
        internal DataAccess(
            IList<LevelAccess> levels, IList<FieldAccess> patientFields,
            IList<DataTypeAccess> dataTypes, HimsaTimestamp created, IList<string> warnings,
            string json)
        {
            Levels = new ReadOnlyCollection<LevelAccess>(levels);
            PatientFields = new ReadOnlyCollection<FieldAccess>(patientFields);
            DataTypes = new ReadOnlyCollection<DataTypeAccess>(dataTypes);
            Created = created;
            Warnings = new ReadOnlyCollection<string>(warnings);
            Json = json;
        }

        public IReadOnlyList<LevelAccess> Levels { get; private set; }
        public IReadOnlyList<FieldAccess> PatientFields { get; private set; }
        public IReadOnlyList<DataTypeAccess> DataTypes { get; private set; }
        public HimsaTimestamp Created { get; private set; }

        /// <summary>Parts of the answer that could not be read.</summary>
        public IReadOnlyList<string> Warnings { get; private set; }

        /// <summary>The access as JSON, including members this version does not model.</summary>
        public string Json { get; private set; }

        /// <summary>The state of a level as listed; Unknown when it is not listed.</summary>
        public AccessState LevelState(AccessLevel level)
        {
            var entry = Levels.FirstOrDefault(l => l.Level == level);
            return entry == null ? AccessState.Unknown : entry.Access;
        }

        /// <summary>The state of a patient field (exact name), or null when not listed.</summary>
        public AccessState? FieldState(string field)
        {
            var entry = PatientFields.FirstOrDefault(f => f.Field == field);
            return entry == null ? (AccessState?)null : entry.Access;
        }
    }

    /// <summary>An app connection: the answer to a request for access.</summary>
    public sealed class AppConnection
    {
        internal AppConnection(
            string id, string portalUrl, bool currentUserCanApprove, DataAccess currentDataAccess,
            HimsaTimestamp created, IList<string> warnings, string json)
        {
            Id = id;
            PortalUrl = portalUrl;
            CurrentUserCanApprove = currentUserCanApprove;
            CurrentDataAccess = currentDataAccess;
            Created = created;
            Warnings = new ReadOnlyCollection<string>(warnings);
            Json = json;
        }

        public string Id { get; private set; }

        /// <summary>Where to send a browser so that a user can approve; may be empty.</summary>
        public string PortalUrl { get; private set; }

        public bool CurrentUserCanApprove { get; private set; }

        /// <summary>Null right after the app's first request.</summary>
        public DataAccess CurrentDataAccess { get; private set; }

        public HimsaTimestamp Created { get; private set; }
        public IReadOnlyList<string> Warnings { get; private set; }
        public string Json { get; private set; }
    }

    /// <summary>The planner's answer.</summary>
    public sealed class AccessDecision
    {
        internal AccessDecision(
            AccessOutcome outcome, uint rawOutcome, bool requested, bool userCanApprove,
            string portalUrl, DataAccess currentDataAccess, AppConnection connection, string json)
        {
            Outcome = outcome;
            RawOutcome = rawOutcome;
            Requested = requested;
            UserCanApprove = userCanApprove;
            PortalUrl = portalUrl;
            CurrentDataAccess = currentDataAccess;
            Connection = connection;
            Json = json;
        }

        public AccessOutcome Outcome { get; private set; }

        /// <summary>The outcome number as the library gave it.</summary>
        public uint RawOutcome { get; private set; }

        /// <summary>Whether this call posted a request for access.</summary>
        public bool Requested { get; private set; }

        public bool UserCanApprove { get; private set; }
        public string PortalUrl { get; private set; }

        /// <summary>The access as last read, or null when never connected.</summary>
        public DataAccess CurrentDataAccess { get; private set; }

        /// <summary>The app connection read or created, or null.</summary>
        public AppConnection Connection { get; private set; }

        public string Json { get; private set; }
    }

    /// <summary>What to ask for, or what is needed.</summary>
    public sealed class AccessRequest
    {
        public AccessRequest(
            AccessLevel level, IEnumerable<string> patientFields = null,
            IEnumerable<long> dataTypes = null)
        {
            Level = level;
            PatientFields = (patientFields ?? Enumerable.Empty<string>()).ToList().AsReadOnly();
            DataTypes = (dataTypes ?? Enumerable.Empty<long>()).ToList().AsReadOnly();
        }

        public AccessLevel Level { get; private set; }
        public IReadOnlyList<string> PatientFields { get; private set; }
        public IReadOnlyList<long> DataTypes { get; private set; }
    }

    /// <summary>Whether the service announced that it will retire this API version.</summary>
    public sealed class Deprecation
    {
        internal Deprecation(bool isDeprecated, string sunsetDate)
        {
            IsDeprecated = isDeprecated;
            SunsetDate = sunsetDate;
        }

        public bool IsDeprecated { get; private set; }

        /// <summary>The announced sunset date as sent, or null.</summary>
        public string SunsetDate { get; private set; }
    }
}
