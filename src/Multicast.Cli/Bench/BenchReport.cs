using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ScottPlot;

namespace Multicast.Cli.Bench;

/// <summary>The results of one bench run: table on stdout, bench.json, bench.csv and bench.png.</summary>
public sealed class BenchReport(BenchOptions options, JsonObject machine)
{
    public BenchOptions Options { get; } = options;
    public JsonObject Machine { get; } = machine;
    public List<BenchRow> Rows { get; } = new();
    /// <summary>The cost-per-copy curve: each engine's server at each --curve group size.</summary>
    public List<CurvePoint> Curve { get; } = new();
    public double ElapsedSeconds { get; set; }

    /// <summary>A curve point's CPU per copy against its engine's first (smallest) group size.</summary>
    private double? CurveRatio(CurvePoint p) =>
        Ratio(p.CpuSecondsPerMillionCopies ?? double.NaN, Curve.FirstOrDefault(f => f.Engine == p.Engine && f.Error is null)?.CpuSecondsPerMillionCopies);

    private BenchRow? Baseline(BenchRow r, string system) =>
        Rows.FirstOrDefault(b => b.Members == r.Members && b.System == system && b.Error is null);

    private static double? Ratio(double value, double? baseline) =>
        baseline is double b && b > 0 && !double.IsNaN(value) ? Math.Round(value / b, 3) : null;

    public JsonObject ToJson()
    {
        var rows = new JsonArray();
        foreach (BenchRow r in Rows)
        {
            JsonObject j = r.ToJson();
            BenchRow? n = Baseline(r, "native"), k = Baseline(r, "kernel");
            j["throughput_vs_native"] = Ratio(r.LosslessRate, n?.LosslessRate);
            j["throughput_vs_kernel"] = Ratio(r.LosslessRate, k?.LosslessRate);
            j["p99_vs_native"] = Ratio(r.P99Us, n?.P99Us);
            j["p99_vs_kernel"] = Ratio(r.P99Us, k?.P99Us);
            j["schedule_p99_vs_native"] = Ratio(r.FromSchedule?.P99Us ?? double.NaN, n?.FromSchedule?.P99Us);
            j["interface_p99_vs_native"] = Ratio(r.ToInterface?.P99Us ?? double.NaN, n?.ToInterface?.P99Us);
            if (r.Sweep.Count > 0) j["sweep"] = new JsonArray(RatePoints(r).Select(p => (JsonNode)SweepPointJson(r, p)).ToArray());
            if (r.Rounds.Count > 0) AddRounds(j, r);
            rows.Add(j);
        }
        return new JsonObject
        {
            ["machine"] = Machine.DeepClone(),
            ["options"] = new JsonObject
            {
                ["members"] = new JsonArray(Options.Members.Select(m => (JsonNode)m).ToArray()),
                ["systems"] = new JsonArray(Options.Systems.Select(s => (JsonNode)s).ToArray()),
                ["latency_rate"] = Options.LatencyRate, ["duration_s"] = Options.Duration, ["size"] = Options.Size,
                ["trial_s"] = Options.TrialSeconds, ["rounds"] = Options.Rounds, ["sweep_rates"] = new JsonArray(Options.SweepRates.Select(r => (JsonNode)r).ToArray()), ["search_budget_s"] = Options.SearchBudget, ["max_queue_ms"] = Options.MaxQueueMs, ["idle"] = Options.Idle ?? "daemon defaults (server adaptive, clients park)", ["nice"] = Options.Nice?.ToString() ?? "daemon defaults (ring: 0, -10 while a backlog drains; socket and pcap: -10)",
                ["rx_buffer"] = Options.RxBuffer ?? "daemon defaults (ring 8M, socket 8M, pcap 32M)",
                ["standby"] = Options.Standby ?? "server default (ring: 150 µs)",
                ["cpu"] = Options.Cpus, ["sender_cpu"] = Options.SenderCpus, ["quick"] = Options.Quick,
                ["loss_limit_percent"] = 0.1,
            },
            ["elapsed_s"] = Math.Round(ElapsedSeconds, 1),
            ["rows"] = rows,
            ["fanout_curve"] = new JsonArray(Curve.Select(p =>
            {
                JsonObject j = p.ToJson();
                j["cpu_vs_first"] = CurveRatio(p);
                return (JsonNode)j;
            }).ToArray()),
        };
    }

    /// <summary>A row's latency runs in rising rate: its main run and its --sweep runs.</summary>
    private static IEnumerable<BenchRow> RatePoints(BenchRow r) => r.Sweep.Append(r).OrderBy(p => p.LatencyRate);

    /// <summary>Native's run at the same member count and rate as <paramref name="point"/> (a point of row <paramref name="r"/>).</summary>
    private BenchRow? NativeAt(BenchRow r, BenchRow point) =>
        Baseline(r, "native") is BenchRow n ? RatePoints(n).FirstOrDefault(p => p.LatencyRate == point.LatencyRate) : null;

    private JsonObject SweepPointJson(BenchRow r, BenchRow p)
    {
        var j = new JsonObject
        {
            ["latency_rate"] = p.LatencyRate, ["latency_loss_percent"] = Math.Round(p.LatencyLossPercent, 4),
            ["p50_us"] = p.P50Us, ["p99_us"] = p.P99Us, ["p999_us"] = p.P999Us,
            ["schedule_p99_us"] = p.FromSchedule?.P99Us, ["interface_p99_us"] = p.ToInterface?.P99Us, ["hop_p99_us"] = p.ProxyHop?.P99Us,
            ["p99_vs_native"] = Ratio(p.P99Us, NativeAt(r, p)?.P99Us),
        };
        p.Budget?.AddTo(j);
        return j;
    }

    /// <summary>"5000/s 110 µs 1.59× (93 %)": a rate, its p99, that against native's at the rate, the machine's busy %.</summary>
    private string SweepPoint(BenchRow r, BenchRow p) =>
        string.Create(CultureInfo.InvariantCulture, $"{p.LatencyRate:0}/s {p.P99Us:0} µs") +
        (Ratio(p.P99Us, NativeAt(r, p)?.P99Us) is double v ? string.Create(CultureInfo.InvariantCulture, $" {v:0.00}×") : "") +
        (p.Budget is { } b ? string.Create(CultureInfo.InvariantCulture, $" ({b.MachinePercent:0} %)") : "");

    /// <summary>A row's latency runs at the fixed rate, round 1 (the row itself) first, then --rounds' later rounds.</summary>
    private static List<BenchRow> RoundPoints(BenchRow r) => [r, .. r.Rounds];

    private static double P99(BenchRow p) => p.P99Us;

    /// <summary>A round's lossless rate; NaN where it has none (no search, or no trial passed), so it gets no ratio.</summary>
    private static double Lossless(BenchRow p) => p.LosslessRate > 0 ? p.LosslessRate : double.NaN;

    /// <summary>Each round's figure against the same round of <paramref name="baseline"/>'s system; null where either failed.</summary>
    private List<double?> RoundRatios(BenchRow r, string baseline, Func<BenchRow, double> figure)
    {
        List<BenchRow> own = RoundPoints(r);
        List<BenchRow>? theirs = Baseline(r, baseline) is BenchRow b ? RoundPoints(b) : null;
        return own.Select((p, i) => p.Error is null && theirs is not null && i < theirs.Count && theirs[i].Error is null
            ? Ratio(figure(p), figure(theirs[i])) : null).ToList();
    }

    /// <summary>Rows whose later rounds searched the lossless rate too (not with --search-budget 0).</summary>
    private static bool RoundsSearched(BenchRow r) => r.Rounds.Any(p => p.Trials > 0);

    /// <summary>The median (the mean of the middle two for an even count), or null for none.</summary>
    public static double? Median(IEnumerable<double> values)
    {
        double[] v = values.Where(double.IsFinite).Order().ToArray();
        if (v.Length == 0) return null;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static double? RoundsMedian(List<BenchRow> rounds, Func<BenchRow, double> figure) =>
        Median(rounds.Where(p => p.Error is null).Select(figure));

    private void AddRounds(JsonObject j, BenchRow r)
    {
        List<BenchRow> points = RoundPoints(r);
        List<double?> vsNative = RoundRatios(r, "native", P99), vsKernel = RoundRatios(r, "kernel", P99);
        List<double?> rateVsNative = RoundRatios(r, "native", Lossless), rateVsKernel = RoundRatios(r, "kernel", Lossless);
        bool searched = RoundsSearched(r);
        j["rounds"] = new JsonArray(points.Select((p, i) =>
        {
            var o = new JsonObject
            {
                ["round"] = i + 1, ["error"] = p.Error, ["p50_us"] = p.Error is null ? p.P50Us : null, ["p99_us"] = p.Error is null ? p.P99Us : null,
                ["p999_us"] = p.Error is null ? p.P999Us : null, ["latency_loss_percent"] = Math.Round(p.LatencyLossPercent, 4),
                ["p99_vs_native"] = vsNative[i], ["p99_vs_kernel"] = vsKernel[i], ["hop_p99_us"] = p.ProxyHop?.P99Us,
            };
            if (searched)
            {
                o["trials"] = p.Trials;
                o["lossless_rate"] = p.Error is null && p.LosslessRate > 0 ? Math.Round(p.LosslessRate, 1) : null;
                o["sender_bound"] = p.SenderBound;
                o["throughput_vs_native"] = rateVsNative[i];
                o["throughput_vs_kernel"] = rateVsKernel[i];
            }
            p.Budget?.AddTo(o);
            return (JsonNode)o;
        }).ToArray());
        double[] native = vsNative.OfType<double>().ToArray();
        j["rounds_p99_median_us"] = RoundsMedian(points, P99);
        j["rounds_p99_vs_native_median"] = Median(native) is double m ? Math.Round(m, 3) : null;
        j["rounds_p99_vs_native_min"] = native.Length > 0 ? native.Min() : null;
        j["rounds_p99_vs_native_max"] = native.Length > 0 ? native.Max() : null;
        j["rounds_p99_vs_kernel_median"] = Median(vsKernel.OfType<double>()) is double k ? Math.Round(k, 3) : null;
        if (!searched) return;
        j["rounds_lossless_median"] = RoundsMedian(points, Lossless);
        j["rounds_throughput_vs_native_median"] = Median(rateVsNative.OfType<double>()) is double tn ? Math.Round(tn, 3) : null;
        j["rounds_throughput_vs_kernel_median"] = Median(rateVsKernel.OfType<double>()) is double tk ? Math.Round(tk, 3) : null;
    }

    private static string N(double? v, string format) => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>" × native 9.99 10.50 7.20, median 9.99× (7.20–10.50×)": each round's ratio, their median and range.</summary>
    private static string RatiosText(string baseline, List<double?> ratios)
    {
        double[] ok = ratios.OfType<double>().ToArray();
        return ok.Length == 0 ? "" : $"; × {baseline} {string.Join(' ', ratios.Select(v => N(v, "0.00")))}, median {N(Median(ok), "0.00")}× " +
                                     $"({N(ok.Min(), "0.00")}–{N(ok.Max(), "0.00")}×)";
    }

    /// <summary>"p99 669 734 500 µs, median 669 µs; × native 9.99 10.50 7.20, median 9.99× (7.20–10.50×)".</summary>
    private string RoundsLine(BenchRow r)
    {
        List<BenchRow> points = RoundPoints(r);
        string line = $"p99 {string.Join(' ', points.Select(p => p.Error is null ? N(p.P99Us, "0") : "failed"))} µs, " +
                      $"median {N(RoundsMedian(points, P99), "0")} µs";
        return r.System == "native" ? line : line + RatiosText("native", RoundRatios(r, "native", P99));
    }

    /// <summary>
    /// "lossless 46875 37501 49930/s, median 46875/s; × native 0.96 0.69 1.02, median 0.96× (0.69–1.02×); × kernel ...".
    /// </summary>
    private string RoundsLosslessLine(BenchRow r)
    {
        List<BenchRow> points = RoundPoints(r);
        string Rate(BenchRow p) => p.Error is not null ? "failed" : p.LosslessRate > 0 ? N(p.LosslessRate, "0") + (p.SenderBound ? "*" : "") : "none";
        string line = $"lossless {string.Join(' ', points.Select(Rate))}/s, median {N(RoundsMedian(points, Lossless), "0")}/s";
        if (r.System != "native") line += RatiosText("native", RoundRatios(r, "native", Lossless));
        if (r.System is not ("native" or "kernel")) line += RatiosText("kernel", RoundRatios(r, "kernel", Lossless));
        return line;
    }

    /// <summary>One more latency view, one line per row that has it, with its p99 against native's in the same view.</summary>
    private void LatencyView(StringBuilder sb, string title, Func<BenchRow, MemberLatency?> view)
    {
        if (!Rows.Any(r => r.Error is null && view(r) is not null)) return;
        sb.AppendLine(title);
        foreach (BenchRow r in Rows.Where(r => r.Error is null && view(r) is not null))
        {
            MemberLatency s = view(r)!.Value;
            BenchRow? n = Baseline(r, "native");
            MemberLatency? baseline = n is null ? null : view(n);
            double? vsNative = Ratio(s.P99Us, baseline?.P99Us);
            // A view native cannot have (the proxy's own hop) gets no ratio column at all.
            string ratio = baseline is null && n is not null ? "" : $", p99 {(vsNative is double v ? v.ToString("0.00", CultureInfo.InvariantCulture) + "× native" : "-")}";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Members,7} {r.System,-8} p50/p99/p99.9 {s.P50Us:0.0}/{s.P99Us:0.0}/{s.P999Us:0.0} µs{ratio}");
        }
    }

    public string Table()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{"members",7} {"system",-8} {"lossless/s",11} {"member-dg/s",12} {"p50 µs",8} {"p99 µs",8} {"p99.9 µs",9} {"CPU s/Mcopy",11} {"GC 0/1/2",9} {"alloc B",9} | {"thr/nat",7} {"thr/krn",7} {"p99/nat",7} {"p99/krn",7}");
        foreach (BenchRow r in Rows)
        {
            if (r.Error is not null) { sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} FAILED: {r.Error}"); continue; }
            BenchRow? n = Baseline(r, "native"), k = Baseline(r, "kernel");
            string R(double? v) => v is double d ? d.ToString("0.00", CultureInfo.InvariantCulture) : "-";
            string gc = r.GcGen0 is null ? "-" : $"{r.GcGen0}/{r.GcGen1}/{r.GcGen2}";
            string cpu = r.CpuSecondsPerMillionCopies is double c ? c.ToString("0.000", CultureInfo.InvariantCulture) : "-";
            // 0 would read as a measured rate: say whether the search did not run or ran and passed no trial.
            bool passed = r.LosslessRate > 0;
            string rate = passed ? r.LosslessRate.ToString("0", CultureInfo.InvariantCulture) + (r.SenderBound ? "*" : "") : r.Trials == 0 ? "-" : "none";
            string Throughput(BenchRow? baseline) => R(passed ? Ratio(r.LosslessRate, baseline?.LosslessRate) : null);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Members,7} {r.System,-8} {rate,11} {r.MemberDeliveriesPerSecond,12:0} {r.P50Us,8:0.0} {r.P99Us,8:0.0} {r.P999Us,9:0.0} {cpu,11} {gc,9} {r.AllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "-",9} | " +
                $"{Throughput(n),7} {Throughput(k),7} {R(Ratio(r.P99Us, n?.P99Us)),7} {R(Ratio(r.P99Us, k?.P99Us)),7}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"lossless/s: highest sender rate with < 0.1 % loss over all members{(Options.MaxQueueMs is double q ? string.Create(CultureInfo.InvariantCulture, $" and at most {q:0.#} ms still queued at the end of the trial") : "")} " +
            $"(* = the sender could go no faster; none = no trial passed within --search-budget; - = no search); latency at {LatencyRates()}, " +
            $"{Options.Size} B payloads, mean over members; CPU = proxy (server + clients) per million member copies; ratios are within this run.");
        if (Rows.Any(r => r.Error is null && r.LosslessBacklogMs is not null))
        {
            sb.AppendLine("still queued when the sender finished its fastest lossless trial (what a deep queue absorbed rather than delivered):");
            sb.AppendLine("  " + string.Join(", ", Rows.Where(r => r.Error is null && r.LosslessBacklogMs is not null)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Members} {r.System} {r.LosslessBacklogMs:0.0} ms"))));
        }
        LatencyView(sb, "latency from the sender's schedule (its lateness added; counts the wait of a sender that delivers inside its own call):",
            r => r.FromSchedule);
        LatencyView(sb, "latency to the members' interfaces (kernel receive timestamp; without the member host's own stack and the receiver's wait for a CPU):",
            r => r.ToInterface);
        LatencyView(sb, "the proxy's own hop (its server, from the kernel's capture stamp to the transmit call of the copies, which then carries them to the members; engines with that stamp):",
            r => r.ProxyHop);
        if (Rows.Any(r => r.Error is null && r.Budget is not null))
        {
            sb.AppendLine("CPU while the latency run sent (% of one core over the sender's run; rest = kernel threads and softirq charged to none of these; stolen = taken by the hypervisor):");
            foreach (BenchRow r in Rows.Where(r => r.Error is null && r.Budget is not null))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} {r.Budget}");
        }
        if (Rows.Any(r => r.Error is null && r.Sweep.Count > 0))
        {
            sb.AppendLine("p99 by rate (--sweep; × native's p99 at the same rate, and the machine's busy % of its cores × 100):");
            foreach (BenchRow r in Rows.Where(r => r.Error is null && r.Sweep.Count > 0))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} {string.Join("  ", RatePoints(r).Select(p => SweepPoint(r, p)))}");
        }
        if (Rows.Any(r => r.Error is null && r.Rounds.Count > 0))
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"p99 at {LatencyRates()} over {Options.Rounds} rounds (the systems' latency runs take turns; round 1 is the table's; × native = against native's p99 of the same round):");
            foreach (BenchRow r in Rows.Where(r => r.Error is null && r.Rounds.Count > 0))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} {RoundsLine(r)}");
        }
        if (Rows.Any(r => r.Error is null && RoundsSearched(r)))
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"lossless rate over {Options.Rounds} rounds (each round searches again, the systems taking turns; round 1 is the table's; × native, × kernel = against that system's rate in the same round; none = no trial passed):");
            foreach (BenchRow r in Rows.Where(r => r.Error is null && RoundsSearched(r)))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} {RoundsLosslessLine(r)}");
        }
        if (Rows.Any(r => r.Error is null && r.TailCauses is not null))
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"p99 causes (member copies at or above the p99 of all members' copies; sender stall = > {TailBreakdown.StallNs / 1_000_000} ms behind schedule " +
                $"within {TailBreakdown.WindowNs / 1_000_000} ms before; at the member = reached the member's interface in under half its latency; shared path = the rest: the proxy or the bridge):");
            foreach (BenchRow r in Rows.Where(r => r.Error is null && r.TailCauses is not null))
                sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Members,7} {r.System,-8} {r.TailCauses}");
        }
        if (Curve.Count > 0) CurveTable(sb);
        return sb.ToString();
    }

    private void CurveTable(StringBuilder sb)
    {
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"cost per member copy by group size (--curve; the server alone, its members sink addresses on one host, {Options.CurveCopyRate:0} member copies/s at every size; × first = CPU per copy against the engine's smallest group; hop = the server's capture stamp to its transmit call after the datagram's last copy, which from 1,024 copies a batch on includes the half-ring kicks that sent the earlier ones):");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"  {"engine",-8} {"members",7} {"dg/s",9} {"copies arrived",23} {"CPU s/Mcopy",11} {"× first",7} {"GC 0/1/2",9} {"alloc B",9} {"hop p50/p99 µs",17}");
        foreach (CurvePoint p in Curve)
        {
            if (p.Error is not null) { sb.AppendLine(CultureInfo.InvariantCulture, $"  {p.Engine,-8} {p.Members,7} FAILED: {p.Error}"); continue; }
            string arrived = $"{p.CopiesArrived}/{p.CopiesExpected}";
            string cpu = p.CpuSecondsPerMillionCopies is double c ? c.ToString("0.000", CultureInfo.InvariantCulture) : "-";
            string ratio = CurveRatio(p) is double r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-";
            string gc = p.GcGen0 is null ? "-" : $"{p.GcGen0}/{p.GcGen1}/{p.GcGen2}";
            string alloc = p.AllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "-";
            string drops = p.TxFullDrops + p.CaptureDrops > 0 ? $"  dropped: {p.TxFullDrops} TX full, {p.CaptureDrops} at capture" : "";
            string hop = p.Hop is MemberLatency h ? string.Create(CultureInfo.InvariantCulture, $"{h.P50Us:0.0}/{h.P99Us:0.0}") : "-";
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {p.Engine,-8} {p.Members,7} {p.Rate,9:0.#} {arrived,23} {cpu,11} {ratio,7} {gc,9} {alloc,9} {hop,17}{drops}");
        }
    }

    /// <summary>"20000/s (4 members), 2500/s (32 members)": the fixed rate of the latency runs per member count.</summary>
    private string LatencyRates() => string.Join(", ", Options.Members.Select(m =>
        Options.Members.Length == 1 ? $"{Options.LatencyRateFor(m):0}/s" : $"{Options.LatencyRateFor(m):0}/s ({m} members)"));

    /// <summary>bench.csv's columns: keys of a row in bench.json, in this order.</summary>
    private static readonly string[] CsvColumns =
    [
        "members", "system", "error", "lossless_rate", "lossless_backlog_ms", "member_deliveries_per_s", "sender_bound", "latency_rate", "latency_loss_percent",
        "p50_us", "p99_us", "p999_us", "schedule_p50_us", "schedule_p99_us", "schedule_p999_us", "interface_p50_us", "interface_p99_us", "interface_p999_us",
        "hop_p50_us", "hop_p99_us", "hop_p999_us",
        "cpu_seconds", "cpu_s_per_million_copies", "gc_gen0", "gc_gen1", "gc_gen2", "allocated_bytes",
        "machine_busy_percent", "cpus", "sender_cpu_percent", "receivers_cpu_percent", "proxy_cpu_percent", "rest_cpu_percent", "stolen_cpu_percent",
        "throughput_vs_native", "throughput_vs_kernel", "p99_vs_native", "p99_vs_kernel", "schedule_p99_vs_native", "interface_p99_vs_native",
        "rounds_p99_median_us", "rounds_p99_vs_native_median", "rounds_p99_vs_native_min", "rounds_p99_vs_native_max", "rounds_p99_vs_kernel_median",
        "rounds_lossless_median", "rounds_throughput_vs_native_median", "rounds_throughput_vs_kernel_median",
    ];

    /// <summary>curve.csv's columns: keys of a fanout_curve point in bench.json, in this order.</summary>
    private static readonly string[] CurveCsvColumns =
    [
        "engine", "members", "error", "rate", "datagrams_sent", "copies_expected", "copies_arrived", "copies_dropped_tx_full", "capture_drops",
        "server_cpu_seconds", "cpu_s_per_million_copies", "cpu_vs_first", "gc_gen0", "gc_gen1", "gc_gen2", "allocated_bytes",
        "hop_p50_us", "hop_p99_us",
    ];

    public string Csv() => Csv("rows", CsvColumns);

    public string CurveCsv() => Csv("fanout_curve", CurveCsvColumns);

    private string Csv(string array, string[] columns)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', columns));
        foreach (JsonNode? n in (JsonArray)ToJson()[array]!)
        {
            JsonObject j = n!.AsObject();
            sb.AppendLine(string.Join(',', columns.Select(key => Csv(j[key]))));
        }
        return sb.ToString();
    }

    private static string Csv(JsonNode? v)
    {
        if (v is null) return "";
        string s = v is JsonValue jv && jv.TryGetValue(out string? str) ? str : v.ToJsonString();
        return s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    public void Write(string dir, Action<string> say)
    {
        Directory.CreateDirectory(dir);
        say("");
        say(Table());
        File.WriteAllText(Path.Combine(dir, "bench.json"), ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.WriteAllText(Path.Combine(dir, "bench.csv"), Csv());
        if (Curve.Count > 0) File.WriteAllText(Path.Combine(dir, "curve.csv"), CurveCsv());
        File.WriteAllText(Path.Combine(dir, "bench.txt"), Table());
        try
        {
            DrawPng(Path.Combine(dir, "bench.png"));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or IOException)
        {
            say($"warning: no PNG ({e.Message})");
        }
        say($"wrote {Path.Combine(dir, "bench.json")}, bench.csv, {(Curve.Count > 0 ? "curve.csv, " : "")}bench.txt, bench.png ({ElapsedSeconds:0} s)");
    }

    /// <summary>
    /// SkiaSharp's dependency-free native build does not ask fontconfig for fonts, so without a font file every label
    /// would be blank: register a TrueType file from the usual places and make it the default.
    /// </summary>
    private static void UseFileFont()
    {
        string[] candidates =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
        ];
        string? file = candidates.FirstOrDefault(File.Exists);
        if (file is null) return;
        Fonts.AddFontFile("BenchSans", file);
        string bold = file.Replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf");
        if (bold != file && File.Exists(bold)) Fonts.AddFontFile("BenchSans", bold, bold: true, italic: false);
        Fonts.Default = "BenchSans";
        Fonts.Sans = "BenchSans";
    }

    /// <summary>Two panels: latency percentiles per system (log scale) and member-datagrams delivered per second.</summary>
    public void DrawPng(string path)
    {
        UseFileFont();
        List<BenchRow> ok = Rows.Where(r => r.Error is null).ToList();
        string[] labels = ok.Select(r => Options.Members.Length > 1 ? $"{r.System}\n{r.Members} m" : r.System).ToArray();
        double[] positions = Enumerable.Range(0, ok.Count).Select(i => (double)i).ToArray();

        var latency = new Plot();
        (string Name, Func<BenchRow, double> Get, Color Color)[] series =
        [
            ("p50", r => r.P50Us, Colors.SteelBlue), ("p99", r => r.P99Us, Colors.DarkOrange), ("p99.9", r => r.P999Us, Colors.FireBrick),
        ];
        for (int s = 0; s < series.Length; s++)
        {
            var bars = new List<Bar>();
            for (int i = 0; i < ok.Count; i++)
            {
                double v = series[s].Get(ok[i]);
                if (double.IsNaN(v) || v <= 0) continue;
                bars.Add(new Bar
                {
                    Position = i + (s - 1) * 0.27, Value = Math.Log10(v), Size = 0.25, FillColor = series[s].Color,
                    Label = v.ToString("0", CultureInfo.InvariantCulture), CenterLabel = false,
                });
            }
            var bp = latency.Add.Bars(bars);
            bp.LegendText = series[s].Name;
        }
        latency.Title($"One-way latency at {LatencyRates()} ({Options.Size} B payload), µs (log scale)");
        double top = LogAxis(latency, ok.Select(r => r.P999Us));
        latency.Axes.Bottom.SetTicks(positions, labels);
        latency.Axes.SetLimitsY(0, top + 0.2);
        latency.Axes.SetLimitsX(-0.6, ok.Count - 0.4);
        latency.ShowLegend(Alignment.UpperLeft);

        var throughput = new Plot();
        var tb = new List<Bar>();
        for (int i = 0; i < ok.Count; i++)
        {
            double v = ok[i].MemberDeliveriesPerSecond;
            tb.Add(new Bar
            {
                Position = i, Value = v / 1e3, Size = 0.6, FillColor = ok[i].System switch
                {
                    "native" => Colors.Gray, "kernel" => Colors.SlateGray, "ring" => Colors.SeaGreen, _ => Colors.CornflowerBlue,
                },
                Label = (v / 1e3).ToString("0", CultureInfo.InvariantCulture) + (ok[i].SenderBound ? "*" : ""),
            });
        }
        throughput.Add.Bars(tb);
        throughput.Title("Lossless throughput (< 0.1 % loss), member-datagrams/s, thousands (* sender-bound)");
        throughput.Axes.Bottom.SetTicks(positions, labels);
        throughput.Axes.SetLimitsX(-0.6, ok.Count - 0.4);
        throughput.Axes.SetLimitsY(0, Math.Max(1, ok.Select(r => r.MemberDeliveriesPerSecond / 1e3).DefaultIfEmpty(1).Max() * 1.15));

        var multi = new Multiplot();
        multi.Reset(latency);
        multi.AddPlot(throughput);
        Plot? sweep = SweepPlot(ok);
        if (sweep is not null) multi.AddPlot(sweep);
        Plot? curve = CurvePlot();
        if (curve is not null) multi.AddPlot(curve);
        multi.SavePng(path, Math.Max(900, 150 * ok.Count), 500 * (2 + (sweep is null ? 0 : 1) + (curve is null ? 0 : 1)));
    }

    /// <summary>With --curve: the server's CPU per million copies against the group's size, one line per engine, or null.</summary>
    private Plot? CurvePlot()
    {
        List<CurvePoint> measured = Curve.Where(p => p.Error is null && p.CpuSecondsPerMillionCopies is not null).ToList();
        if (measured.Count == 0) return null;
        var plot = new Plot();
        foreach (IGrouping<string, CurvePoint> engine in measured.GroupBy(p => p.Engine))
        {
            CurvePoint[] points = engine.OrderBy(p => p.Members).ToArray();
            var line = plot.Add.Scatter(points.Select(p => Math.Log2(p.Members)).ToArray(), points.Select(p => p.CpuSecondsPerMillionCopies!.Value).ToArray());
            line.LegendText = engine.Key;
            line.LineWidth = engine.Key == "ring" ? 3 : 1.5f;
        }
        int[] sizes = measured.Select(p => p.Members).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(sizes.Select(m => Math.Log2(m)).ToArray(), sizes.Select(m => m.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimitsY(0, measured.Max(p => p.CpuSecondsPerMillionCopies!.Value) * 1.15);
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"Server CPU s per million copies against group size, {Options.CurveCopyRate:0} copies/s (x: members, log scale)"));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// Labels the left axis of a plot whose values are drawn as log10 with plain numbers at each decade (10, 100,
    /// 1 000, ...), up to the decade above the largest of <paramref name="values"/>; returns that top, in log10.
    /// </summary>
    private static double LogAxis(Plot plot, IEnumerable<double> values)
    {
        double top = Math.Max(3, Math.Ceiling(values.Where(v => v > 0 && double.IsFinite(v)).Select(Math.Log10).DefaultIfEmpty(3).Max() + 0.3));
        double[] ticks = Enumerable.Range(1, (int)top).Select(i => (double)i).ToArray();
        plot.Axes.Left.SetTicks(ticks, ticks.Select(t => Math.Pow(10, t).ToString("#,0", CultureInfo.InvariantCulture).Replace(',', ' ')).ToArray());
        return top;
    }

    /// <summary>With --sweep: p99 against rate, one line per system at the first member count (log scale), or null.</summary>
    private Plot? SweepPlot(List<BenchRow> ok)
    {
        List<BenchRow> rows = ok.Where(r => r.Members == Options.Members[0] && r.Sweep.Count > 0).ToList();
        if (rows.Count == 0) return null;
        var plot = new Plot();
        foreach (BenchRow r in rows)
        {
            BenchRow[] points = RatePoints(r).Where(p => p.P99Us > 0 && double.IsFinite(p.P99Us)).ToArray();
            var line = plot.Add.Scatter(points.Select(p => p.LatencyRate).ToArray(), points.Select(p => Math.Log10(p.P99Us)).ToArray());
            line.LegendText = r.System;
            line.LineWidth = r.System is "native" or "ring" ? 3 : 1.5f;
        }
        plot.Axes.SetLimitsY(1, LogAxis(plot, rows.SelectMany(RatePoints).Select(p => p.P99Us)) + 0.2);
        plot.Title($"p99 one-way latency against rate, {Options.Members[0]} members, µs (log scale; x: datagrams/s)");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
