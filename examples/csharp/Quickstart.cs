// Quickstart: read the app's access, ask for what it needs, wait for a user's approval.
//
// Build: mcs -r:HimsaConn.dll Quickstart.cs (see bindings/csharp/README.md)
// Run:   mono Quickstart.exe BASE_URL TENANT_ID ACCESS_TOKEN
using System;
using Himsa.Conn;

public static class Quickstart
{
    private static void PrintTable(DataAccess access)
    {
        Console.WriteLine("{0,-6} {1,-14} {2}", "kind", "name", "state");
        foreach (var e in access.Levels)
        {
            Console.WriteLine("{0,-6} {1,-14} {2}", "level", e.LevelText, e.AccessText);
        }
        foreach (var e in access.PatientFields)
        {
            Console.WriteLine("{0,-6} {1,-14} {2}", "field", e.Field, e.AccessText);
        }
        foreach (var e in access.DataTypes)
        {
            Console.WriteLine("{0,-6} {1,-14} {2}", "type", e.DataType, e.AccessText);
        }
    }

    public static int Main(string[] args)
    {
        string baseUrl = args.Length > 0 ? args[0] : "http://127.0.0.1:1";
        string tenant = args.Length > 1 ? args[1] : "00000000-0000-0000-0000-000000000000";
        string token = args.Length > 2 ? args[2] : "sandbox-token";
        if (args.Length != 3)
        {
            Console.WriteLine("usage: Quickstart BASE_URL TENANT_ID ACCESS_TOKEN");
            Console.WriteLine("(using {0} {1} {2})", baseUrl, tenant, token);
        }

        try
        {
            using (var conn = new HimsaConnection(baseUrl, tenant, token))
            {
                var access = conn.GetCurrentAccess();
                if (access == null)
                {
                    Console.WriteLine("never connected: this app has no access in the tenant yet");
                }
                else
                {
                    Console.WriteLine("connected; current access:");
                    PrintTable(access);
                }

                // What the app needs: the Limited level and two patient fields.
                var need = new AccessRequest(
                    AccessLevel.Limited, new[] { "FirstName", "EmailAddress" });
                var decision = conn.EnsureAccess(need, RequestPolicy.IfNeeded);
                if (decision.Outcome == AccessOutcome.PendingApproval)
                {
                    Console.WriteLine("approve in a browser: {0}", decision.PortalUrl);
                    Console.WriteLine(
                        "this user may approve: {0}", decision.UserCanApprove ? "yes" : "no");
                    Console.WriteLine("waiting for approval...");
                    conn.WaitForApproval(need, TimeSpan.FromMinutes(1));
                }

                PrintTable(conn.GetCurrentAccess());
            }
        }
        catch (HimsaException e)
        {
            Console.Error.WriteLine(
                "failed: {0} (HTTP {1}): {2}", HimsaException.StatusText(e.Status), e.HttpStatus,
                e.Message);
            return 1;
        }
        return 0;
    }
}
