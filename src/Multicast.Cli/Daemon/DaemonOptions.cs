using Multicast.Core.Engines;
using Multicast.Linux;
using Multicast.Linux.Ring;

namespace Multicast.Cli.Daemon;

/// <summary>Options shared by `multis_admin -R` and `multic_admin -R`.</summary>
/// <param name="Engine">As given with --engine; null = the default (ring, or socket where the ring cannot run).</param>
/// <param name="Idle">As given with --idle (adaptive|spin|yield|park[:MICROS]); null = the engine's default (ring: adaptive for the server, park for clients).</param>
/// <param name="Delivery">Client only, as given with --delivery (nft|raw); null = nft where the kernel allows it.</param>
/// <param name="Nice">The data-plane thread's nice values (--nice N or BASE:BOOST, -20..19); null =
/// <see cref="DataPlanePriority.Default"/> (0, and −10 while a backlog drains; engines without a ring run at −10).</param>
/// <param name="Cpus">The CPUs the data-plane thread is pinned to (--cpu LIST); null = not pinned.</param>
/// <param name="CaptureBytes">The capture queue's size (--rx-buffer SIZE): the ring engine's RX ring, the socket
/// engine's receive buffer, libpcap's buffer; null = the engine's default (8 MiB, 8 MiB, 32 MiB).</param>
/// <param name="StandbyMicros">Server, ring engine: the standby thread's period (--standby MICROS, or off = 0); null =
/// the default, 150 µs.</param>
public sealed record DaemonOptions(string? Interface, string? Engine, IdleStrategy? Idle = null, string? Delivery = null, DataPlanePriority? Nice = null,
    DataPlaneCpus? Cpus = null, int? CaptureBytes = null, int? StandbyMicros = null)
{
    public const int MinStandbyMicros = 50;
    public const int MaxStandbyMicros = 100_000;

    public const int MinCaptureBytes = 64 << 10;
    public const int MaxCaptureBytes = 1 << 30;

    /// <summary>The value the daemon sets before its data plane runs: the boost (the ring loop drops to the base itself).</summary>
    public int StartingNice => (Nice ?? DataPlanePriority.Default).Boost;

    /// <summary>Whether an argument of an admin command line belongs to the daemon (handed to <see cref="Parse"/>).</summary>
    public static bool IsDaemonOption(string arg) =>
        arg.StartsWith("--interface", StringComparison.Ordinal) || arg.StartsWith("--engine", StringComparison.Ordinal) ||
        arg.StartsWith("--idle", StringComparison.Ordinal) || arg.StartsWith("--delivery", StringComparison.Ordinal) ||
        arg.StartsWith("--nice", StringComparison.Ordinal) || arg.StartsWith("--cpu", StringComparison.Ordinal) ||
        arg.StartsWith("--rx-buffer", StringComparison.Ordinal) || arg.StartsWith("--standby", StringComparison.Ordinal);

    /// <summary>Parses the daemon options that follow -R; anything else is a usage error.</summary>
    public static DaemonOptions Parse(IEnumerable<string> args)
    {
        string? iface = null;
        string? engine = null;
        string? idle = null;
        string? delivery = null;
        string? nice = null;
        string? cpus = null;
        string? rxBuffer = null;
        string? standby = null;
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
                case "--idle": idle = Value(a); break;
                case "--delivery": delivery = Value(a); break;
                case "--nice": nice = Value(a); break;
                case "--cpu": cpus = Value(a); break;
                case "--rx-buffer": rxBuffer = Value(a); break;
                case "--standby": standby = Value(a); break;
                default:
                    if (a.StartsWith("--interface=")) iface = a["--interface=".Length..];
                    else if (a.StartsWith("--engine=")) engine = a["--engine=".Length..];
                    else if (a.StartsWith("--idle=")) idle = a["--idle=".Length..];
                    else if (a.StartsWith("--delivery=")) delivery = a["--delivery=".Length..];
                    else if (a.StartsWith("--nice=")) nice = a["--nice=".Length..];
                    else if (a.StartsWith("--cpu=")) cpus = a["--cpu=".Length..];
                    else if (a.StartsWith("--rx-buffer=")) rxBuffer = a["--rx-buffer=".Length..];
                    else if (a.StartsWith("--standby=")) standby = a["--standby=".Length..];
                    else throw new UsageException($"unknown option {a} for -R (accepted: --interface IF, --engine ring|socket|pcap, --idle adaptive|spin|yield|park[:MICROS], --delivery nft|raw, --nice N|BASE:BOOST, --cpu LIST, --rx-buffer SIZE, --standby MICROS|off)");
                    break;
            }
        }
        if (engine is not (null or EngineNames.Ring or EngineNames.Socket or EngineNames.Pcap))
            throw new UsageException($"unknown engine '{engine}' (expected ring, socket or pcap)");
        if (delivery is not (null or "nft" or "raw"))
            throw new UsageException($"unknown delivery '{delivery}' (expected nft or raw)");
        return new DaemonOptions(iface, engine, idle is null ? null : ParseIdle(idle), delivery, nice is null ? null : ParseNice(nice),
            cpus is null ? null : ParseCpus(cpus), rxBuffer is null ? null : ParseSize("--rx-buffer", rxBuffer, MinCaptureBytes, MaxCaptureBytes),
            standby is null ? null : ParseStandby(standby));
    }

    /// <summary>--standby's value: "off" (0) or a period in µs from 50 to 100,000; also what `multicast bench --standby` checks.</summary>
    public static int ParseStandby(string text)
    {
        if (text == "off") return 0;
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int micros) &&
            micros is >= MinStandbyMicros and <= MaxStandbyMicros)
            return micros;
        throw new UsageException($"option --standby: '{text}' is neither off nor a period from {MinStandbyMicros} to {MaxStandbyMicros} µs");
    }

    /// <summary>"65536", "512K", "8M", "1G" (binary units), within [min, max].</summary>
    public static int ParseSize(string option, string text, int min, int max)
    {
        long unit = text.Length == 0 ? 1 : char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        if (long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) &&
            n <= max && n * unit >= min && n * unit <= max)
            return (int)(n * unit);
        throw new UsageException($"option {option}: '{text}' is not a size from {min >> 10}K to {max >> 30}G (bytes, or with K, M or G)");
    }

    /// <summary>
    /// What only this host can say is wrong with the options (a --cpu the process may not use), as an exception the
    /// tools report in one line; called before the daemon opens anything.
    /// </summary>
    public void CheckHost() => Cpus?.EnsureAvailable();

    /// <summary>--cpu's value, with DataPlaneCpus' message as a usage error.</summary>
    public static DataPlaneCpus ParseCpus(string text, string option = "--cpu")
    {
        try { return DataPlaneCpus.Parse(text); }
        catch (ArgumentException error) { throw new UsageException($"option {option}: {error.Message}"); }
    }

    /// <summary>--nice's value; also what `multicast bench --nice` checks before handing it to the daemons.</summary>
    public static DataPlanePriority ParseNice(string text)
    {
        try { return DataPlanePriority.Parse(text); }
        catch (ArgumentException error) { throw new UsageException($"option --nice: {error.Message}"); }
    }

    /// <summary>--idle's value, with IdleStrategy's message as a usage error.</summary>
    public static IdleStrategy ParseIdle(string text)
    {
        try { return IdleStrategy.Parse(text); }
        catch (ArgumentException error) { throw new UsageException(error.Message); }
    }
}
