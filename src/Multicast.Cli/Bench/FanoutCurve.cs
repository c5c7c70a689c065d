using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using Multicast.Cli.Tools;

namespace Multicast.Cli.Bench;

/// <summary>
/// The server's cost per member copy as its group grows (`multicast bench --curve 4,32,256,1024`). Each engine's server
/// runs alone on the source; its group's members are sink addresses on one other host (<see cref="VpcLab.AddSinkMembers"/>),
/// where every copy is counted. Every point sends the same member copies per second as the latency runs (fewer
/// datagrams to a larger group), so the points differ only in how many copies one datagram makes.
/// </summary>
public sealed class FanoutCurve(BenchOptions o, Action<string> say)
{
    private const double WarmUpSeconds = 0.5;
    private ulong _nextSeq;

    /// <summary>The engines of the run whose servers the curve measures (an ENGINE-raw row has the same server).</summary>
    public static string[] EnginesOf(BenchOptions o) =>
        o.Systems.Where(s => s is not ("native" or "kernel"))
            .Select(s => s.EndsWith(SystemRun.RawSuffix, StringComparison.Ordinal) ? s[..^SystemRun.RawSuffix.Length] : s).Distinct().ToArray();

    public List<CurvePoint> Measure()
    {
        var points = new List<CurvePoint>();
        string[] engines = EnginesOf(o);
        if (o.CurveMembers.Length == 0 || engines.Length == 0) return points;
        say($"--- cost per copy by group size: {string.Join(", ", o.CurveMembers)} sink members, {o.CurveCopyRate:0} copies/s; building the lab");
        using VpcLab lab = VpcLab.Create(1, 0, log: o.Verbose ? say : null);
        LabHost sink = lab.Members[0];
        IReadOnlyList<IPAddress> addresses = lab.AddSinkMembers(sink, o.CurveMembers.Max());
        foreach (string engine in engines)
            foreach (int members in o.CurveMembers)
            {
                CurvePoint p;
                try
                {
                    p = MeasurePoint(lab, sink, engine, addresses.Take(members).ToArray());
                }
                catch (Exception e) when (!VpcLab.Interrupted)
                {
                    p = new CurvePoint { Engine = engine, Members = members, Error = e.Message.Split('\n')[0] };
                }
                points.Add(p);
                say($"[curve] {engine} {members} members: {p.Summary()}");
            }
        return points;
    }

    private CurvePoint MeasurePoint(VpcLab lab, LabHost sink, string engine, IPAddress[] members)
    {
        double rate = o.CurveCopyRate / members.Length;
        var point = new CurvePoint { Engine = engine, Members = members.Length, Rate = Math.Round(rate, 1) };
        LabDaemon server = lab.StartServer(lab.Source, engine,
            LabConfig.Server(BenchCommand.Group, BenchCommand.Port, 0, members), null, o.ServerArgs());
        JsonObject? statsBefore = null, statsAfter = null;
        try
        {
            // Untimed: JIT, ARP for the sink and the ring's first faults happen here.
            SendAndDrain(lab, sink, rate, Math.Max(1, (long)Math.Round(rate * WarmUpSeconds)), members.Length);
            // The hop queries come before the first and after the last reading of the server's CPU and allocations:
            // each reply lists every member, which is the bench's cost, not the fan-out's.
            SystemRun.QueryHop(server); // opens the window the query after the run reads
            statsBefore = NextProcessStats(server);
            long count = Math.Max(1, (long)Math.Round(rate * o.Duration));
            double cpuBefore = CpuTime.OfProcess(server.Process.Id);
            (point.DatagramsSent, point.CopiesArrived) = SendAndDrain(lab, sink, rate, count, members.Length);
            point.ServerCpuSeconds = Math.Round(CpuTime.OfProcess(server.Process.Id) - cpuBefore, 3);
            statsAfter = NextProcessStats(server);
            point.Hop = SystemRun.QueryHop(server);
            point.CopiesExpected = point.DatagramsSent * members.Length;
            IReadOnlyDictionary<string, long> c = server.ReadCounters();
            point.TxFullDrops = c.GetValueOrDefault("copies_dropped_tx_full");
            point.CaptureDrops = c.GetValueOrDefault("capture_drops");
        }
        finally
        {
            server.Stop(TimeSpan.FromSeconds(5));
        }
        long? Delta(string key) => (long?)statsAfter?[key] - (long?)statsBefore?[key];
        point.GcGen0 = Delta("gc_gen0");
        point.GcGen1 = Delta("gc_gen1");
        point.GcGen2 = Delta("gc_gen2");
        point.AllocatedBytes = Delta("allocated_bytes");
        return point;
    }

    /// <summary>The server's process figures from its next stats write (once a second), so they postdate whatever came before.</summary>
    private static JsonObject? NextProcessStats(LabDaemon server)
    {
        DateTime last = File.GetLastWriteTimeUtc(server.StatsFile);
        var waited = Stopwatch.StartNew();
        while (File.GetLastWriteTimeUtc(server.StatsFile) == last && waited.ElapsedMilliseconds < 3000) Thread.Sleep(20);
        return SystemRun.ReadProcessStats(server);
    }

    /// <summary>Sends <paramref name="count"/> datagrams at <paramref name="rate"/>, then waits until the sink's count stops growing.</summary>
    private (long Sent, long Arrived) SendAndDrain(VpcLab lab, LabHost sink, double rate, long count, int members)
    {
        long before = lab.SinkPackets(sink);
        LabProcess sender = lab.StartTool(lab.Source, [
            "send", "--group", BenchCommand.Group.ToString(), "--port", BenchCommand.Port.ToString(CultureInfo.InvariantCulture),
            "--count", count.ToString(CultureInfo.InvariantCulture), "--rate", BenchCommand.F(Math.Round(rate, 1)),
            "--size", o.Size.ToString(CultureInfo.InvariantCulture), "--interface-ip", lab.Source.Address.ToString(),
            "--first-seq", _nextSeq.ToString(CultureInfo.InvariantCulture),
            .. (o.SenderCpus is null ? [] : new[] { "--cpu", o.SenderCpus })]);
        _nextSeq += (ulong)count;
        JsonObject sent = sender.WaitForJsonResult(TimeSpan.FromSeconds(count / Math.Max(rate, 1) + 60));
        long datagrams = (long?)sent["sent"] ?? 0;
        long expected = datagrams * members, arrived = lab.SinkPackets(sink) - before, last = -1;
        var still = Stopwatch.StartNew();
        while (arrived < expected && still.ElapsedMilliseconds < 500)
        {
            Thread.Sleep(50);
            arrived = lab.SinkPackets(sink) - before;
            if (arrived != last) { last = arrived; still.Restart(); }
        }
        return (datagrams, arrived);
    }
}

/// <summary>One engine's server at one group size.</summary>
public sealed class CurvePoint
{
    public string Engine { get; init; } = "";
    public int Members { get; init; }
    public string? Error { get; set; }
    /// <summary>Datagrams per second sent to the group: the run's member copies per second over the group's size.</summary>
    public double Rate { get; init; }
    public long DatagramsSent { get; set; }
    public long CopiesExpected { get; set; }
    public long CopiesArrived { get; set; }
    public long TxFullDrops { get; set; }
    public long CaptureDrops { get; set; }
    public double? ServerCpuSeconds { get; set; }
    public long? GcGen0 { get; set; }
    public long? GcGen1 { get; set; }
    public long? GcGen2 { get; set; }
    public long? AllocatedBytes { get; set; }
    /// <summary>
    /// The server's hop (capture to the transmit call that ends the datagram's batch): how long the fan-out takes before
    /// its last copies are handed to the kernel. From 1,024 copies a batch on (half the TX ring) it also includes the
    /// kicks that sent the earlier copies. Null without a capture stamp.
    /// </summary>
    public MemberLatency? Hop { get; set; }

    public double? CpuSecondsPerMillionCopies => ServerCpuSeconds is double s && CopiesArrived > 0 ? s / (CopiesArrived / 1e6) : null;

    public string Summary() => Error is not null
        ? $"FAILED: {Error}"
        : string.Create(CultureInfo.InvariantCulture,
            $"{Rate:0.#}/s, {CopiesArrived}/{CopiesExpected} copies arrived, {CpuSecondsPerMillionCopies:0.000} CPU s per M copies, GC {GcGen0}/{GcGen1}/{GcGen2}");

    public JsonObject ToJson() => new()
    {
        ["engine"] = Engine, ["members"] = Members, ["error"] = Error, ["rate"] = Rate,
        ["datagrams_sent"] = DatagramsSent, ["copies_expected"] = CopiesExpected, ["copies_arrived"] = CopiesArrived,
        ["copies_dropped_tx_full"] = TxFullDrops, ["capture_drops"] = CaptureDrops,
        ["server_cpu_seconds"] = ServerCpuSeconds,
        ["cpu_s_per_million_copies"] = CpuSecondsPerMillionCopies is double c ? Math.Round(c, 4) : null,
        ["gc_gen0"] = GcGen0, ["gc_gen1"] = GcGen1, ["gc_gen2"] = GcGen2, ["allocated_bytes"] = AllocatedBytes,
        ["hop_p50_us"] = Hop?.P50Us, ["hop_p99_us"] = Hop?.P99Us,
    };
}
