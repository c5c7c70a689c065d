using System.Diagnostics;
using System.Text;

namespace Multicast.Linux.Nftables;

/// <summary>Runs the nft command line: scripts are applied as one transaction (all or nothing).</summary>
internal static class Nft
{
    /// <summary>Applies a script read from stdin; a failure is one line saying what could not be done and why.</summary>
    public static void Apply(string script, string what) => Run(["-f", "-"], script, what);

    /// <summary>
    /// The head of a script that replaces the rules of a table with one base chain. The first time the table is
    /// created, replacing one a killed daemon left (declaring then deleting it works whether or not it exists, in the
    /// same transaction); after that only the chain is flushed: re-creating the table would re-register its hook, and
    /// packets arriving in between would miss the rules (measured: 2 of 10,000 under a config change).
    /// </summary>
    public static void AppendChainReset(StringBuilder script, string family, string table, string chain, string hook, bool exists)
    {
        if (exists)
        {
            script.AppendLine($"flush chain {family} {table} {chain}");
            return;
        }
        script.AppendLine($"table {family} {table} {{}}");
        script.AppendLine($"delete table {family} {table}");
        script.AppendLine($"table {family} {table} {{");
        script.AppendLine($"  chain {chain} {{");
        script.AppendLine($"    {hook}");
        script.AppendLine("  }");
        script.AppendLine("}");
    }

    /// <summary>Runs a read-only command (e.g. "-j list table ...") and returns its stdout.</summary>
    public static string Query(string[] args, string what) => Run(args, null, what);

    private static string Run(string[] args, string? input, string what)
    {
        var psi = new ProcessStartInfo("nft")
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"cannot {what}: nft (nftables) is not installed");
        }
        using (p)
        {
            if (input is not null) p.StandardInput.Write(input);
            p.StandardInput.Close();
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"cannot {what}: nft: {err.Trim().Split('\n')[0]}");
            return stdout.Result;
        }
    }
}
