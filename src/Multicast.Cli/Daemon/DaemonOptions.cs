using Multicast.Core.Engines;

namespace Multicast.Cli.Daemon;

/// <summary>Options shared by `multis_admin -R` and `multic_admin -R`.</summary>
/// <param name="Engine">As given with --engine; null = the default (ring, or socket where the ring cannot run).</param>
public sealed record DaemonOptions(string? Interface, string? Engine)
{
    /// <summary>Parses the daemon options that follow -R; anything else is a usage error.</summary>
    public static DaemonOptions Parse(IEnumerable<string> args)
    {
        string? iface = null;
        string? engine = null;
        using IEnumerator<string> e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            string Value(string flag) => e.MoveNext() ? e.Current : throw new UsageException($"option {flag} needs a value");
            switch (a)
            {
                case "-R" or "--run": break;
                case "--interface" or "-I": iface = Value(a); break;
                case "--engine": engine = Value(a); break;
                default:
                    if (a.StartsWith("--interface=")) iface = a["--interface=".Length..];
                    else if (a.StartsWith("--engine=")) engine = a["--engine=".Length..];
                    else throw new UsageException($"unknown option {a} for -R (accepted: --interface IF, --engine ring|socket|pcap)");
                    break;
            }
        }
        if (engine is not (null or EngineNames.Ring or EngineNames.Socket or EngineNames.Pcap))
            throw new UsageException($"unknown engine '{engine}' (expected ring, socket or pcap)");
        return new DaemonOptions(iface, engine);
    }
}
