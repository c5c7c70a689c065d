using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Multicast.Cli.Control;
using Multicast.Cli.Lab;
using Multicast.Cli.Tools;

namespace Multicast.Cli.Bench;

/// <summary>
/// Measures one system in a built lab: set it up (native: drop rule off; kernel: nftables dup rules; an engine: multis
/// on the source and multic on every member), search the lossless rate, measure latency and proxy cost at a fixed
/// rate, tear it down (always, also when a step fails).
/// </summary>
/// <param name="round">Which --rounds round this is: a later round's kept logs go beside the first's.</param>
internal sealed class SystemRun(VpcLab lab, string system, BenchOptions o, Action<string> say, int round = 1)
{
    public const string RawSuffix = "-raw";
    private readonly List<LabDaemon> _daemons = new();
    private ulong _nextSeq;

    public BenchRow Measure() => Run(withSweep: true);

    /// <summary>A later --rounds round: the search (unless --search-budget 0) and the latency run at the fixed rate, no sweep.</summary>
    public BenchRow MeasureAgain() => Run(withSweep: false);

    private BenchRow Run(bool withSweep)
    {
        var row = new BenchRow { System = system, Members = lab.Members.Count, LatencyRate = o.LatencyRateFor(lab.Members.Count) };
        SetUp();
        try
        {
            // Without a search (--search-budget 0) the latency run would be the daemons' first traffic.
            if (o.SearchBudget > 0) Search(row);
            else WarmUp(row);
            Latency(row);
            foreach (double rate in withSweep ? o.SweepRatesFor(row.Members) : [])
            {
                var point = new BenchRow { System = system, Members = row.Members, LatencyRate = rate };
                Latency(point, sweep: true);
                row.Sweep.Add(point);
            }
        }
        finally
        {
            TearDown();
        }
        if (_daemons.Count > 0) ReadGcDeltas(row);
        return row;
    }

    private bool IsEngine => system is not ("native" or "kernel");

    // ------------------------------------------------------------------------------------------------ setup

    private void SetUp()
    {
        switch (system)
        {
            case "native":
                lab.SetNativeMulticast(true);
                break;
            case "kernel":
                KernelReference(install: true);
                break;
            default:
                string[] extra = o.DaemonArgs();
                // "ENGINE-raw": the clients restore in user space (--delivery raw) instead of the kernel's ingress rule.
                bool raw = system.EndsWith(RawSuffix, StringComparison.Ordinal);
                string engine = raw ? system[..^RawSuffix.Length] : system;
                string[] clientExtra = raw ? [.. extra, "--delivery", "raw"] : extra;
                try
                {
                    _daemons.Add(lab.StartServer(lab.Source, engine,
                        LabConfig.Server(BenchCommand.Group, BenchCommand.Port, 0, lab.Members.Select(m => m.Address)), null, o.ServerArgs()));
                    foreach (LabHost m in lab.Members)
                        _daemons.Add(lab.StartClient(m, engine,
                            LabConfig.Client(lab.Source.Address, BenchCommand.Port, BenchCommand.Group, BenchCommand.Port), null, clientExtra));
                }
                catch
                {
                    TearDown();
                    throw;
                }
                break;
        }
    }

    private void TearDown()
    {
        switch (system)
        {
            case "native":
                lab.SetNativeMulticast(false);
                break;
            case "kernel":
                KernelReference(install: false);
                break;
            default:
                foreach (LabDaemon d in _daemons) d.Process.Signal(Signals.Term);
                foreach (LabDaemon d in _daemons) d.Stop(TimeSpan.FromSeconds(5));
                break;
        }
    }

    /// <summary>
    /// The in-kernel reference: on the source an output-hook rule that marks (DSCP CS7) and dups the group's datagrams to
    /// each member with the destination rewritten; on each member a netdev-ingress rule that restores the group.
    /// </summary>
    private void KernelReference(bool install)
    {
        string g = BenchCommand.Group.ToString();
        if (!install)
        {
            lab.Exec(lab.Source, "nft", "delete", "table", "ip", "kref");
            foreach (LabHost m in lab.Members) lab.Exec(m, "nft", "delete", "table", "netdev", "kref");
            return;
        }
        // The kernel refuses a rule with too many statements (EINVAL at 32 dups), so members go 8 to a rule; each rule
        // restores the group address, so the next one matches the datagram again.
        var rules = lab.Members.Chunk(8).Select(chunk =>
            $"    ip daddr {g} udp dport {BenchCommand.Port} ip dscp set cs7 " +
            string.Join(' ', chunk.Select(m => $"ip daddr set {m.Address} dup to {m.Address}")) + $" ip daddr set {g} ip dscp set cs0\n");
        string src = $"table ip kref {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n" +
                     string.Concat(rules) + "  }\n}";
        Nft(lab.Source, src);
        foreach (LabHost m in lab.Members)
            Nft(m, $"table netdev kref {{\n  chain in {{\n    type filter hook ingress device {m.Interface} priority 0; policy accept;\n" +
                   $"    ip saddr {lab.Source.Address} ip dscp cs7 ip daddr set {g}\n  }}\n}}");
    }

    private void Nft(LabHost host, string rules)
    {
        string file = Path.Combine(host.WorkDir, "kref.nft");
        File.WriteAllText(file, rules + "\n");
        CommandResult r = lab.Exec(host, "nft", "-f", file);
        if (r.ExitCode != 0) throw new InvalidOperationException($"nft on {host.Name}: {r.Stderr.Trim()}");
    }

    // ------------------------------------------------------------------------------------------------ search

    /// <summary>Where a member's receiver writes its per-datagram latency during the latency run.</summary>
    private static string LatencyLog(LabHost member) => Path.Combine(member.WorkDir, "latency.bin");

    /// <summary>The same, to the kernel's receive timestamp (when the datagram reached the member's interface).</summary>
    private static string ArrivalLog(LabHost member) => Path.Combine(member.WorkDir, "arrival.bin");

    /// <param name="firstSeq">The run's first sequence number: anything older still queued in the proxy is not timed.</param>
    private List<LabProcess> StartReceivers(long expect, double seconds, ulong firstSeq, bool logLatency = false)
    {
        long timeoutMs = (long)(seconds * 1000) + 60_000;
        var list = lab.Members.Select(m => lab.StartTool(m, [
            "recv", "--group", BenchCommand.Group.ToString(),
            "--port", BenchCommand.Port.ToString(CultureInfo.InvariantCulture), "--interface-ip", m.Address.ToString(),
            "--expect", expect.ToString(CultureInfo.InvariantCulture), "--first-seq", firstSeq.ToString(CultureInfo.InvariantCulture), "--idle-ms", expect > 0 ? "3000" : timeoutMs.ToString(CultureInfo.InvariantCulture),
            "--timeout-ms", timeoutMs.ToString(CultureInfo.InvariantCulture), "--linger-ms", "100",
            .. (logLatency ? new[] { "--latency-log", LatencyLog(m), "--arrival-log", ArrivalLog(m) } : [])])).ToList();
        foreach (LabProcess p in list) p.WaitForLine(l => l.StartsWith("listening", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return list;
    }

    private JsonObject Send(double rate, long count, string? latenessLog = null)
    {
        LabProcess sender = lab.StartTool(lab.Source, [
            "send", "--group", BenchCommand.Group.ToString(),
            "--port", BenchCommand.Port.ToString(CultureInfo.InvariantCulture), "--count", count.ToString(CultureInfo.InvariantCulture),
            "--rate", BenchCommand.F(Math.Round(rate)), "--size", o.Size.ToString(CultureInfo.InvariantCulture),
            "--interface-ip", lab.Source.Address.ToString(), "--first-seq", _nextSeq.ToString(CultureInfo.InvariantCulture),
            .. (latenessLog is null ? [] : new[] { "--lateness-log", latenessLog }),
            .. (o.SenderCpus is null ? [] : new[] { "--cpu", o.SenderCpus })]);
        _nextSeq += (ulong)count;
        return sender.WaitForJsonResult(TimeSpan.FromSeconds(count / Math.Max(rate, 1000) + 60));
    }

    private int _report;
    private long? _lastProgress; // the receivers' total at the end of the last trial
    private bool _lastTrialFailed;
    private double _drainedSeconds; // spent waiting for queues, not measuring: not charged to the search budget

    /// <summary>Asks every receiver for its progress line (SIGUSR1) and returns the distinct datagrams received so far.</summary>
    private long[] Progress(List<LabProcess> receivers)
    {
        int k = ++_report;
        foreach (LabProcess r in receivers) r.Signal(10);
        string key = $"{{\"report\":{k},";
        return receivers.Select(r =>
        {
            string line = r.WaitForLine(l => l.StartsWith(key, StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            return (long)JsonNode.Parse(line)!["unique"]!;
        }).ToArray();
    }

    private (double Loss, double Achieved, double BacklogMs) Trial(List<LabProcess> receivers, double rate, double seconds, BenchRow row, bool warmup = false)
    {
        long[] before = Progress(receivers);
        // Datagrams of the last trial still arriving (a failed trial can leave seconds of queue in the proxy) would be
        // credited to this one and hide its own loss: wait them out first. After a failed trial always (its queue may
        // trickle out too slowly for the counts to differ within a few ms), else when the counts moved since it ended.
        double drainedMs = 0;
        if (_lastProgress is long last && (_lastTrialFailed || before.Sum() != last))
        {
            drainedMs = WaitUntilDrained(receivers);
            _drainedSeconds += drainedMs / 1000;
            before = Progress(receivers);
        }
        long count = Math.Max(200, (long)(rate * seconds));
        JsonObject sent = Send(rate, count);
        long sentCount = (long)sent["sent"]!;
        double achieved = (double)sent["rate_achieved"]!;
        // What had not arrived yet when the sender finished was queued somewhere (proxy ring, socket buffers): a trial
        // passes on loss alone, so this says how much of its rate a deep queue absorbed rather than delivered.
        long deliveredAtEnd = Progress(receivers).Zip(before, (a, b) => a - b).Sum();
        Thread.Sleep(300); // let the receivers drain their socket buffers
        long[] after = Progress(receivers);
        _lastProgress = after.Sum();
        long delivered = after.Zip(before, (a, b) => a - b).Sum();
        long expected = sentCount * receivers.Count;
        double loss = expected == 0 ? 1 : Math.Max(0, 1 - (double)delivered / expected);
        _lastTrialFailed = loss >= LosslessSearch.LossLimit;
        double backlogMs = achieved > 0 ? Math.Max(0, delivered - deliveredAtEnd) / (double)receivers.Count / achieved * 1000 : 0;
        row.TrialLog.Add(new JsonObject
        {
            ["target"] = Math.Round(rate), ["achieved"] = achieved, ["sent"] = sentCount, ["delivered"] = delivered,
            ["loss_percent"] = Math.Round(loss * 100, 4), ["backlog_ms"] = Math.Round(backlogMs, 1), ["warmup"] = warmup,
            ["drained_before_ms"] = Math.Round(drainedMs),
        });
        if (o.Verbose) say($"    trial {rate:0}/s -> achieved {achieved:0}/s, loss {loss * 100:0.###} %, {backlogMs:0.0} ms still queued when the sender finished" +
                           (drainedMs > 0 ? $" (waited {drainedMs:0} ms for the last trial's queue first)" : ""));
        return (loss, achieved, backlogMs);
    }

    /// <summary>The lossless search (<see cref="LosslessSearch"/>) with real trials, within the time budget.</summary>
    private void Search(BenchRow row)
    {
        List<LabProcess> receivers = StartReceivers(0, o.SearchBudget * 3, _nextSeq);
        _lastProgress = null;
        _lastTrialFailed = false;
        _drainedSeconds = 0;
        try
        {
            // Warm-up: JIT, next-hop resolution, ARP; not counted.
            Trial(receivers, Math.Min(o.StartRate, 10_000), Math.Min(0.3, o.TrialSeconds), row, warmup: true);
            var budget = Stopwatch.StartNew();
            var search = new LosslessSearch(o.StartRate, o.MaxRate, o.MaxQueueMs);
            while (!search.Done && budget.Elapsed.TotalSeconds - _drainedSeconds < o.SearchBudget)
            {
                (double loss, double achieved, double backlogMs) = Trial(receivers, search.NextRate, o.TrialSeconds, row);
                row.Trials++;
                search.Record(loss, achieved, backlogMs);
            }
            row.LosslessRate = search.LosslessRate;
            row.LosslessBacklogMs = search.BacklogMsAtLosslessRate;
            row.MemberDeliveriesPerSecond = search.LosslessRate * receivers.Count * (1 - search.LossAtLosslessRate);
            row.SenderBound = search.SenderBound;
            row.SearchDrainMs = WaitUntilDrained(receivers);
            if (o.Verbose) say($"    the search's queue drained {row.SearchDrainMs:0} ms after its last trial");
        }
        finally
        {
            foreach (LabProcess r in receivers) r.Stop(TimeSpan.FromSeconds(3));
        }
    }

    /// <summary>
    /// What the search's first trial does: a short send that the latency run does not time, so fresh daemons have
    /// compiled their loops and resolved every member's next hop before it starts.
    /// </summary>
    private void WarmUp(BenchRow row)
    {
        List<LabProcess> receivers = StartReceivers(0, 30, _nextSeq);
        try
        {
            Trial(receivers, Math.Min(o.StartRate, 10_000), Math.Min(0.3, o.TrialSeconds), row, warmup: true);
            WaitUntilDrained(receivers);
        }
        finally
        {
            foreach (LabProcess r in receivers) r.Stop(TimeSpan.FromSeconds(3));
        }
    }

    /// <summary>
    /// Waits until nothing sent so far is still arriving (no receiver got a datagram for 200 ms; at most 30 s), so the
    /// next trial or the latency run does not start behind a queue a failed trial left in the proxy. Returns the ms waited.
    /// </summary>
    private double WaitUntilDrained(List<LabProcess> receivers)
    {
        var waited = Stopwatch.StartNew();
        long last = Progress(receivers).Sum();
        while (waited.Elapsed.TotalSeconds < 30)
        {
            Thread.Sleep(200);
            long now = Progress(receivers).Sum();
            if (now == last) break;
            last = now;
        }
        return waited.Elapsed.TotalMilliseconds;
    }

    // ------------------------------------------------------------------------------------------------ latency and cost

    /// <summary>One latency run at row.LatencyRate; a sweep point's logs are kept apart from the main run's.</summary>
    private void Latency(BenchRow row, bool sweep = false)
    {
        long count = Math.Max(100, (long)(row.LatencyRate * o.Duration));
        // Sequence numbers never repeat within a system's run, so a datagram of the search still queued in the proxy is
        // told apart from this run's (it is counted as stale, not timed).
        List<LabProcess> receivers = StartReceivers(count, o.Duration, _nextSeq, logLatency: true);
        if (_daemons.Count > 0 && _gcBefore is null) _gcBefore = _daemons.Select(ReadProcessStats).ToArray();
        double[] cpuBefore = _daemons.Select(d => CpuTime.OfProcess(d.Process.Id)).ToArray();
        string latenessLog = Path.Combine(lab.Source.WorkDir, "lateness.bin");
        QueryProxyHop(); // opens the window the query after the run reads
        JsonObject sent = Send(row.LatencyRate, count, latenessLog);
        // A sender that lost the CPU catches up in a burst, which queues behind a proxy but not behind native delivery.
        row.SenderMaxLateUs = (double?)sent["max_late_us"];
        if (o.Verbose) say($"    latency sender: {sent.ToJsonString()}");
        List<JsonObject> results = receivers.Select(r => r.WaitForJsonResult(TimeSpan.FromSeconds(o.Duration + 90))).ToList();
        double[] cpuAfter = _daemons.Select(d => CpuTime.OfProcess(d.Process.Id)).ToArray();
        row.ProxyHop = QueryProxyHop();
        long unique = results.Sum(r => (long)r["unique"]!);
        if (o.Verbose) foreach (JsonObject r in results) say($"    latency receiver: {r.ToJsonString()}");
        row.LatencyLossPercent = 100.0 * (1 - (double)unique / (count * receivers.Count));
        double Mean(string p) => Math.Round(results.Where(r => r["latency_us"] is not null).Select(r => (double)r["latency_us"]![p]!).DefaultIfEmpty(double.NaN).Average(), 1);
        row.P50Us = Mean("p50");
        row.P99Us = Mean("p99");
        row.P999Us = Mean("p999");
        try
        {
            long[] lateness = ToolLog.Read(latenessLog);
            List<long[]> latency = lab.Members.Select(m => ToolLog.Read(LatencyLog(m))).ToList();
            List<long[]> arrival = lab.Members.Select(m => ToolLog.Read(ArrivalLog(m))).ToList();
            row.TailCauses = TailBreakdown.Compute(lateness, latency, row.LatencyRate, arrival);
            row.FromSchedule = MemberLatency.FromSchedule(lateness, latency);
            row.ToInterface = MemberLatency.Of(arrival);
            if (o.KeepLogs) KeepLogs(row, latenessLog, sweep);
            if (o.Verbose) say($"    p99 causes: {row.TailCauses}; from the schedule: {row.FromSchedule}; to the interfaces: {row.ToInterface}");
        }
        catch (IOException e)
        {
            say($"    no p99 causes: {e.Message}"); // the figures above stand without them
        }
        double? proxyCpu = IsEngine ? cpuAfter.Zip(cpuBefore, (a, b) => a - b).Sum() : null;
        if ((double?)sent["machine_busy_cpu_s"] is double busy)
            row.Budget = CpuBudget.From((double)sent["elapsed_ms"]! / 1000, (double)sent["loop_cpu_s"]!,
                results.Sum(r => (double?)r["cpu_s"] ?? 0), proxyCpu, busy, (double?)sent["machine_steal_cpu_s"] ?? 0, (int)sent["machine_cpus"]!);
        if (proxyCpu is double proxy)
        {
            row.CpuSeconds = Math.Round(proxy, 3);
            row.CpuServerSeconds = Math.Round(cpuAfter[0] - cpuBefore[0], 3); // _daemons[0] is the server
            row.CpuClientsSeconds = Math.Round(row.CpuSeconds.Value - row.CpuServerSeconds.Value, 3);
            row.CpuSecondsPerMillionCopies = unique > 0 ? row.CpuSeconds / (unique / 1e6) : null;
        }
    }

    /// <summary>
    /// The server's own hop since the previous query (multis_admin -P's "since the last -P"): null without a server or
    /// for an engine without a capture stamp.
    /// </summary>
    private MemberLatency? QueryProxyHop() => _daemons.Count == 0 ? null : QueryHop(_daemons[0]); // _daemons[0] is the server

    /// <summary>The server's hop since the previous query (which this one ends and the next one starts from), or null.</summary>
    internal static MemberLatency? QueryHop(LabDaemon server)
    {
        string? reply = ControlClient.TrySend(Path.Combine(server.ConfigDir, ControlClient.ServerSocket), "stats");
        if (reply is null || reply.StartsWith("error:", StringComparison.Ordinal)) return null;
        if (JsonNode.Parse(reply)?["hop_latency_us"]?["since_last_query"] is not JsonObject h || (long)h["count"]! == 0) return null;
        return new MemberLatency((double)h["p50"]!, (double)h["p99"]!, (double)h["p999"]!);
    }

    /// <summary>Copies the latency run's logs out of the lab (whose directory goes with it) into OUT/logs/MEMBERS-SYSTEM.</summary>
    private void KeepLogs(BenchRow row, string latenessLog, bool sweep)
    {
        string dir = Path.Combine(o.OutDir, "logs", $"{row.Members}-{row.System}" + (sweep ? string.Create(CultureInfo.InvariantCulture, $"-{row.LatencyRate:0}") : "") +
                                                    (round > 1 ? string.Create(CultureInfo.InvariantCulture, $"-round{round}") : ""));
        Directory.CreateDirectory(dir);
        File.Copy(latenessLog, Path.Combine(dir, "lateness.bin"), overwrite: true);
        foreach (LabHost m in lab.Members)
        {
            File.Copy(LatencyLog(m), Path.Combine(dir, $"{m.Name}-latency.bin"), overwrite: true);
            File.Copy(ArrivalLog(m), Path.Combine(dir, $"{m.Name}-arrival.bin"), overwrite: true);
        }
    }

    private JsonObject?[]? _gcBefore;

    private void ReadGcDeltas(BenchRow row)
    {
        // The daemons rewrite their stats at exit, so after TearDown these are final.
        JsonObject?[] after = _daemons.Select(ReadProcessStats).ToArray();
        if (_gcBefore is null) return;
        long Delta(string key) => after.Zip(_gcBefore, (a, b) => (long?)a?[key] - (long?)b?[key] ?? 0).Sum();
        row.GcGen0 = Delta("gc_gen0");
        row.GcGen1 = Delta("gc_gen1");
        row.GcGen2 = Delta("gc_gen2");
        row.AllocatedBytes = Delta("allocated_bytes");
    }

    /// <summary>The "process" object of a daemon's stats file (CPU, GC, allocated bytes), or null.</summary>
    internal static JsonObject? ReadProcessStats(LabDaemon d)
    {
        for (int i = 0; i < 5; i++)
        {
            try { return JsonNode.Parse(File.ReadAllText(d.StatsFile))?["process"] as JsonObject; }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { Thread.Sleep(50); }
        }
        return null;
    }
}
