using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using Multicast.Cli.Tools;
using Multicast.Core.Config;
using Multicast.Linux;

namespace Multicast.Cli.Bench;

/// <summary>
/// `multicast bench`: a lab macro benchmark. For each member count it builds a namespace VPC and measures, side by side
/// and in the same run, native L2 multicast (the bridge's drop rule removed), the in-kernel nftables dup reference and
/// the proxy's engines, with ordinary senders and receivers (`tool send` / `tool recv`). Results go to a table on
/// stdout, bench.json, bench.csv and bench.png in --out.
/// </summary>
public static class BenchCommand
{
    public const string Usage =
        "multicast bench [--members 4,32] [--engines ring,ring-raw,socket,pcap] [--systems native,kernel,ENGINES]\n" +
        "                [--rate R=20000] [--sweep R,R,...] [--rounds N=1] [--duration S=5] [--size 100] [--trial S=1] [--search-budget S=15] [--max-rate R=2000000]\n" +
        "                [--max-queue-ms MS] [--idle adaptive|spin|yield|park[:MICROS]] [--nice N|BASE:BOOST] [--rx-buffer SIZE] [--standby MICROS|off]\n" +
        "                [--cpu LIST] [--sender-cpu LIST] [--curve N,N,...|none]\n" +
        "                [--out DIR=bench-results] [--keep-logs] [--quick] [--verbose]\n" +
        "  --rate: fixed rate (datagrams/s) of the latency and CPU measurement, which lasts --duration seconds; it\n" +
        "  holds for the first --members value, the others get the same member copies per second. --sweep adds\n" +
        "  latency runs at more rates (scaled the same way), to show the rate up to which each system's tail holds.\n" +
        "  --rounds N repeats the search and the latency run at --rate N times per system, the systems in turn (native,\n" +
        "  kernel, ring, ..., then again), and reports each round's lossless rate and p99 against native's and the\n" +
        "  in-kernel reference's of the same round, and the medians of those ratios: on a shared machine one run's\n" +
        "  ratio is one draw from a wide spread.\n" +
        "  The lossless rate (< 0.1 % loss over all members) is searched by doubling then bisection, each trial\n" +
        "  lasting --trial seconds, within --search-budget seconds per system; --max-queue-ms also fails a trial with\n" +
        "  more than MS ms of it still queued when the sender finished (a rate a deep queue absorbed, not delivered).\n" +
        "  An engine's clients restore whole datagrams in the kernel (multic's default, --delivery nft); ENGINE-raw\n" +
        "  restores them in user space. --idle, --nice, --rx-buffer and --cpu are handed to every daemon, --standby to\n" +
        "  every server (see multis_admin -R); --sender-cpu pins the sending application's thread (tool send --cpu).\n" +
        "  --curve measures each engine's server alone at these group sizes (default 4,32,256,1024 in a full run, none\n" +
        "  with --systems): members are addresses on one sink host, every copy is counted there, and every size gets\n" +
        "  the latency runs' member copies per second; it reports CPU s per million copies against the first size.\n" +
        "  --keep-logs keeps each latency run's per-datagram logs in DIR/logs/MEMBERS-SYSTEM: lateness.bin (ns the sender\n" +
        "  was behind its schedule), HOST-latency.bin and HOST-arrival.bin (ns from the send stamp to the receiver and to\n" +
        "  the member's interface); 64-bit little-endian, one per sequence number, 0 = not received.\n" +
        "  Needs root (network namespaces).";

    internal static readonly IPAddress Group = IPAddress.Parse("224.1.2.3");
    internal const int Port = 5000;

    public static int Run(string[] args)
    {
        BenchOptions o = BenchOptions.Parse(args);
        if (o.Help) { Console.Out.WriteLine(Usage); return 0; }
        if (!OperatingSystem.IsLinux()) { Console.Error.WriteLine("error: multicast bench needs Linux (network namespaces)"); return 1; }
        if (!VpcLab.IsRoot) { Console.Error.WriteLine("error: multicast bench needs root; run: sudo multicast bench"); return 1; }
        if (OutputDirectoryProblem(o.OutDir) is string problem)
        {
            Console.Error.WriteLine($"error: cannot write results to {o.OutDir}: {problem}");
            return 1;
        }
        try
        {
            BenchReport report = Execute(o, Console.Out.WriteLine);
            report.Write(o.OutDir, Console.Out.WriteLine);
            return report.Rows.All(r => r.Error is null) && report.Curve.All(p => p.Error is null) ? 0 : 1;
        }
        catch (Exception) when (VpcLab.Interrupted)
        {
            Console.Error.WriteLine("interrupted: the lab was removed");
            return 130;
        }
    }

    /// <summary>
    /// Why results could not be written to <paramref name="dir"/>, or null. Checked before the lab is built: a run
    /// takes minutes and writes its files only at the end.
    /// </summary>
    public static string? OutputDirectoryProblem(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return e.Message;
        }
    }

    /// <summary>Runs every member count and system; the lab of each member count is torn down before the next.</summary>
    public static BenchReport Execute(BenchOptions o, Action<string> say)
    {
        IReadOnlyList<string> stale = VpcLab.CleanupLeftovers();
        if (stale.Count > 0) say($"removed {stale.Count} leftovers of an earlier interrupted lab");
        var report = new BenchReport(o, MachineInfo.Collect());
        say($"machine: {report.Machine["cpu"]}, {report.Machine["nproc"]} cores, kernel {report.Machine["kernel"]}, load {report.Machine["load_before"]} (shared: compare ratios within one run)");
        var total = Stopwatch.StartNew();
        foreach (int members in o.Members)
        {
            say($"--- {members} members: building the lab");
            using VpcLab lab = VpcLab.Create(members, 0, log: o.Verbose ? say : null);
            foreach (string system in o.Systems)
            {
                var sw = Stopwatch.StartNew();
                say($"[{members} members] {system} ...");
                BenchRow row;
                try
                {
                    row = new SystemRun(lab, system, o, say).Measure();
                }
                catch (Exception e) when (!VpcLab.Interrupted)
                {
                    row = new BenchRow { System = system, Members = members, Error = e.Message.Split('\n')[0] };
                }
                report.Rows.Add(row);
                say($"[{members} members] {system}: {row.Summary()} ({sw.Elapsed.TotalSeconds:0.0} s)");
            }
            // Later rounds: the search and the latency run again, the systems taking turns, so each round's ratios
            // compare runs of the same minute; one 1 s trial that a stall of the VM fails decides only its own round.
            List<BenchRow> measured = report.Rows.Where(r => r.Members == members && r.Error is null).ToList();
            for (int round = 2; round <= o.Rounds; round++)
            {
                foreach (BenchRow first in measured)
                {
                    BenchRow again;
                    try
                    {
                        again = new SystemRun(lab, first.System, o, say, round).MeasureAgain();
                    }
                    catch (Exception e) when (!VpcLab.Interrupted)
                    {
                        again = new BenchRow { System = first.System, Members = members, LatencyRate = first.LatencyRate, Error = e.Message.Split('\n')[0] };
                    }
                    first.Rounds.Add(again);
                    say($"[{members} members] round {round}/{o.Rounds} {first.System}: {again.Summary()}");
                }
            }
        }
        report.Curve.AddRange(new FanoutCurve(o, say).Measure());
        report.ElapsedSeconds = total.Elapsed.TotalSeconds;
        return report;
    }

    internal static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}

public sealed record BenchOptions
{
    public int[] Members { get; init; } = [4, 32];
    public string[] Engines { get; init; } = ["ring", "ring-raw", "socket", "pcap"];
    public string[]? SystemsOverride { get; init; }
    public double LatencyRate { get; init; } = 20_000;
    /// <summary>More latency rates (for the first member count) measured after the main one: p99 against rate.</summary>
    public double[] SweepRates { get; init; } = [];
    /// <summary>How many times each system's search and latency run at LatencyRate are measured, the systems taking turns.</summary>
    public int Rounds { get; init; } = 1;
    public double Duration { get; init; } = 5;
    public int Size { get; init; } = 100;
    public double TrialSeconds { get; init; } = 1;
    public double SearchBudget { get; init; } = 15;
    public double StartRate { get; init; } = 25_000;
    public double MaxRate { get; init; } = 2_000_000;
    /// <summary>Null: a trial passes on loss alone (the issue's definition); else also at most this many ms still queued.</summary>
    public double? MaxQueueMs { get; init; }
    public string? Idle { get; init; }
    /// <summary>The daemons' data-plane nice values (their --nice); null = their default.</summary>
    public DataPlanePriority? Nice { get; init; }
    /// <summary>The servers' standby period (their --standby), as given; null = the default.</summary>
    public string? Standby { get; init; }
    /// <summary>The daemons' capture queue (their --rx-buffer), as given; null = each engine's default.</summary>
    public string? RxBuffer { get; init; }
    /// <summary>The daemons' data-plane CPUs (their --cpu), and the sender's (tool send --cpu), as given; null = not pinned.</summary>
    public string? Cpus { get; init; }
    public string? SenderCpus { get; init; }
    /// <summary>
    /// Group sizes of the cost-per-copy curve (<see cref="FanoutCurve"/>); null = the default: 4, 32, 256 and 1024 in a
    /// full run, none when --systems picks the systems.
    /// </summary>
    public int[]? CurveOverride { get; init; }
    public int[] CurveMembers => CurveOverride ?? (SystemsOverride is null ? [4, 32, 256, 1024] : []);
    /// <summary>The curve's member copies per second at every group size: the latency runs' (--rate × the first --members).</summary>
    public double CurveCopyRate => LatencyRate * Members[0];
    public string OutDir { get; init; } = "bench-results";
    public bool Quick { get; init; }
    /// <summary>Keep the latency runs' per-datagram logs in OutDir/logs (for analysis beyond the report).</summary>
    public bool KeepLogs { get; init; }
    public bool Verbose { get; init; }
    public bool Help { get; init; }

    /// <summary>What every daemon of an engine row is started with beyond its interface and engine.</summary>
    public string[] DaemonArgs() =>
        [.. Idle is null ? [] : new[] { "--idle", Idle },
         .. Nice is { } nice ? new[] { "--nice", nice.ToString() } : [],
         .. RxBuffer is null ? [] : new[] { "--rx-buffer", RxBuffer },
         .. Cpus is null ? [] : new[] { "--cpu", Cpus }];

    /// <summary>What every server is started with: the daemons' arguments and the server's own.</summary>
    public string[] ServerArgs() => [.. DaemonArgs(), .. Standby is null ? [] : new[] { "--standby", Standby }];

    public IEnumerable<string> Systems => SystemsOverride ?? ["native", "kernel", .. Engines];

    /// <summary>
    /// --rate holds for the first member count; the others get the same member copies per second (20,000/s at 4
    /// members is 2,500/s at 32): 20,000/s to 32 members is past what any system here delivers, so its "latency"
    /// would only measure how long a saturated queue grew during the run.
    /// </summary>
    public double LatencyRateFor(int members) => ScaledRate(LatencyRate, members);

    /// <summary>The --sweep rates for this member count, scaled like --rate, without the main rate itself.</summary>
    public double[] SweepRatesFor(int members) =>
        SweepRates.Select(r => ScaledRate(r, members)).Where(r => r != LatencyRateFor(members)).Distinct().Order().ToArray();

    private double ScaledRate(double rate, int members) => Math.Max(100, Math.Round(rate * Members[0] / members));

    private static readonly HashSet<string> Flags = ["quick", "verbose", "keep-logs"];

    public static BenchOptions Parse(string[] args)
    {
        if (args.Any(a => a is "-h" or "--help")) return new BenchOptions { Help = true };
        var a = new ToolArgs(args, Flags);
        // --quick sets the small run's defaults; options given with it still win.
        BenchOptions d = a.Has("quick")
            ? new BenchOptions
            {
                Quick = true, Members = [2], LatencyRate = 5_000, Duration = 1, TrialSeconds = 0.4, SearchBudget = 3,
                StartRate = 20_000, MaxRate = 200_000, CurveOverride = [2, 64],
            }
            : new BenchOptions();
        string? engines = a.String("engines"), engine = a.String("engine");
        if (engines is not null && engine is not null) throw new UsageException("option --engines given twice (--engine is its other name)");
        engines ??= engine;
        string? systems = a.String("systems");
        var o = d with
        {
            Members = a.Longs("members", 1, 80)?.Select(m => (int)m).ToArray() ?? d.Members,
            Engines = engines is null ? d.Engines : SystemNames("--engines", engines, enginesOnly: true),
            SystemsOverride = systems is null ? null : SystemNames("--systems", systems, enginesOnly: false),
            LatencyRate = a.Double("rate", d.LatencyRate, 100, 5_000_000),
            SweepRates = a.Doubles("sweep", 100, 5_000_000) ?? d.SweepRates,
            Rounds = (int)a.Long("rounds", d.Rounds, 1, 50),
            Duration = a.Double("duration", d.Duration, 0.2, 600),
            Size = (int)a.Long("size", d.Size, 24, 1400),
            TrialSeconds = a.Double("trial", d.TrialSeconds, 0.1, 60),
            SearchBudget = a.Double("search-budget", d.SearchBudget, 0, 600),
            StartRate = a.Double("start-rate", d.StartRate, 100, 10_000_000),
            MaxRate = a.Double("max-rate", d.MaxRate, 100, 10_000_000),
            MaxQueueMs = a.String("max-queue-ms") is null ? null : a.Double("max-queue-ms", 0, 0, 60_000),
            Idle = Checked(a.String("idle"), DaemonOptions.ParseIdle),
            Nice = a.String("nice") is string nice ? DaemonOptions.ParseNice(nice) : null,
            Cpus = Checked(a.String("cpu"), v => DaemonOptions.ParseCpus(v, "--cpu")),
            SenderCpus = Checked(a.String("sender-cpu"), v => DaemonOptions.ParseCpus(v, "--sender-cpu")),
            Standby = Checked(a.String("standby"), v => DaemonOptions.ParseStandby(v)),
            RxBuffer = Checked(a.String("rx-buffer"), v => DaemonOptions.ParseSize("--rx-buffer", v, DaemonOptions.MinCaptureBytes, DaemonOptions.MaxCaptureBytes)),
            CurveOverride = a.String("curve") == "none" ? [] : a.Longs("curve", 1, ServerConfig.DefaultMaxMembers)?.Select(m => (int)m).ToArray() ?? d.CurveOverride,
            OutDir = a.String("out") ?? d.OutDir,
            KeepLogs = a.Has("keep-logs"),
            Verbose = a.Has("verbose"),
        };
        a.RejectUnknown();
        return o;
    }

    /// <summary>The engines (ring, socket, pcap, each also as ENGINE-raw) or, for --systems, those and the baselines.</summary>
    private static string[] SystemNames(string option, string value, bool enginesOnly)
    {
        string[] known = [.. enginesOnly ? [] : new[] { "native", "kernel" },
                          .. EngineFactory.ServerEngines.SelectMany(e => new[] { e, e + SystemRun.RawSuffix })];
        string[] names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new UsageException($"option {option}: no {(enginesOnly ? "engine" : "system")} given");
        foreach (string n in names)
            if (!known.Contains(n))
                throw new UsageException($"option {option}: unknown {(enginesOnly ? "engine" : "system")} '{n}' (expected {string.Join(", ", known)})");
        if (names.Distinct().Count() != names.Length) throw new UsageException($"option {option}: '{value}' names a system twice");
        return names;
    }

    /// <summary>Keeps the text as given (it is handed to the daemons and recorded) once the daemons' parser accepts it.</summary>
    private static string? Checked<T>(string? v, Func<string, T> parse)
    {
        if (v is not null) parse(v);
        return v;
    }
}

/// <summary>One system measured at one member count.</summary>
public sealed class BenchRow
{
    public string System { get; init; } = "";
    public int Members { get; init; }
    public string? Error { get; set; }
    /// <summary>Highest sender rate (datagrams/s, achieved) with &lt; 0.1 % loss over all members.</summary>
    public double LosslessRate { get; set; }
    /// <summary>In that trial, how many ms of its datagrams were still queued (not yet at the members) when the sender finished.</summary>
    public double? LosslessBacklogMs { get; set; }
    /// <summary>How long the search's last trials took to drain out of the proxy before the latency run started.</summary>
    public double? SearchDrainMs { get; set; }
    /// <summary>Member-datagrams delivered per second at that rate.</summary>
    public double MemberDeliveriesPerSecond { get; set; }
    /// <summary>The search ended because the sender could not go faster, not because of loss.</summary>
    public bool SenderBound { get; set; }
    public int Trials { get; set; }
    public List<JsonObject> TrialLog { get; } = new();
    public double LatencyRate { get; set; }
    public double? SenderMaxLateUs { get; set; }
    public double LatencyLossPercent { get; set; }
    public double P50Us { get; set; }
    public double P99Us { get; set; }
    public double P999Us { get; set; }
    /// <summary>Where the copies at or above the latency run's pooled p99 came from (sender stall, shared path, the member).</summary>
    public TailBreakdown? TailCauses { get; set; }
    /// <summary>Latency from the sender's schedule rather than its actual send (corrected for coordinated omission).</summary>
    public MemberLatency? FromSchedule { get; set; }
    /// <summary>Latency to the members' interfaces (the kernel's receive timestamp): without the member hosts' own wait.</summary>
    public MemberLatency? ToInterface { get; set; }
    /// <summary>The proxy server's own hop over the latency run (its capture stamp to the transmit call of the copies; ring only).</summary>
    public MemberLatency? ProxyHop { get; set; }
    public double? CpuSeconds { get; set; }
    public double? CpuServerSeconds { get; set; }
    public double? CpuClientsSeconds { get; set; }
    public double? CpuSecondsPerMillionCopies { get; set; }
    public long? GcGen0 { get; set; }
    public long? GcGen1 { get; set; }
    public long? GcGen2 { get; set; }
    public long? AllocatedBytes { get; set; }
    /// <summary>Where the machine's CPU went while the latency run sent.</summary>
    public CpuBudget? Budget { get; set; }
    /// <summary>The --sweep runs: the same measurement at other rates (each with its LatencyRate), in rising rate.</summary>
    public List<BenchRow> Sweep { get; } = new();
    /// <summary>With --rounds: rounds 2..N of the latency run at LatencyRate (this row is round 1).</summary>
    public List<BenchRow> Rounds { get; } = new();

    public string Summary() => Error is not null
        ? $"FAILED: {Error}"
        : (LosslessRate > 0 ? $"lossless {LosslessRate:0}/s ({MemberDeliveriesPerSecond:0} member-datagrams/s{(SenderBound ? ", sender-bound" : "")}), "
           : Trials > 0 ? $"lossless: none of {Trials} trials passed, " : "") +
          $"p50/p99/p99.9 {P50Us:0}/{P99Us:0}/{P999Us:0} µs at {LatencyRate:0}/s" +
          (CpuSecondsPerMillionCopies is double c ? $", {c:0.00} CPU s per M copies, GC {GcGen0}/{GcGen1}/{GcGen2}, {AllocatedBytes} B allocated" : "");

    private static double? N(double v) => double.IsFinite(v) ? v : null;

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["system"] = System, ["members"] = Members, ["error"] = Error,
            ["lossless_rate"] = Math.Round(LosslessRate, 1),
            ["member_deliveries_per_s"] = Math.Round(MemberDeliveriesPerSecond, 1),
            ["lossless_backlog_ms"] = LosslessBacklogMs is double b ? Math.Round(b, 1) : null,
            ["sender_bound"] = SenderBound,
            ["search_drain_ms"] = SearchDrainMs is double drain ? Math.Round(drain) : null,
            ["latency_rate"] = LatencyRate,
            ["sender_max_late_us"] = SenderMaxLateUs,
            ["latency_loss_percent"] = Math.Round(LatencyLossPercent, 4),
            ["p50_us"] = N(P50Us), ["p99_us"] = N(P99Us), ["p999_us"] = N(P999Us),
            ["schedule_p50_us"] = FromSchedule?.P50Us, ["schedule_p99_us"] = FromSchedule?.P99Us, ["schedule_p999_us"] = FromSchedule?.P999Us,
            ["interface_p50_us"] = ToInterface?.P50Us, ["interface_p99_us"] = ToInterface?.P99Us, ["interface_p999_us"] = ToInterface?.P999Us,
            ["hop_p50_us"] = ProxyHop?.P50Us, ["hop_p99_us"] = ProxyHop?.P99Us, ["hop_p999_us"] = ProxyHop?.P999Us,
            ["p99_causes"] = TailCauses?.ToJson(),
            ["cpu_seconds"] = CpuSeconds,
            ["cpu_server_seconds"] = CpuServerSeconds,
            ["cpu_clients_seconds"] = CpuClientsSeconds,
            ["cpu_s_per_million_copies"] = CpuSecondsPerMillionCopies is double c ? Math.Round(c, 4) : null,
            ["gc_gen0"] = GcGen0, ["gc_gen1"] = GcGen1, ["gc_gen2"] = GcGen2,
            ["allocated_bytes"] = AllocatedBytes,
        };
        Budget?.AddTo(o);
        var trials = new JsonArray();
        foreach (JsonObject t in TrialLog) trials.Add(t.DeepClone());
        o["trials"] = trials;
        return o;
    }
}

internal static class MachineInfo
{
    public static JsonObject Collect()
    {
        string cpu = "unknown";
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        string kernel = Safe(() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim());
        string load = Safe(() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)));
        return new JsonObject
        {
            ["nproc"] = Environment.ProcessorCount, ["cpu"] = cpu, ["kernel"] = kernel, ["load_before"] = load,
            ["dotnet"] = Environment.Version.ToString(), ["shared_machine_note"] = "load from other users is not controlled: compare ratios within one run",
            ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        };
    }

    private static string Safe(Func<string> f)
    {
        try { return f(); } catch (IOException) { return "unknown"; }
    }
}
