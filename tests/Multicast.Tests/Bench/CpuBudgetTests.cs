using System.Text.Json.Nodes;
using Multicast.Cli.Bench;
using Multicast.Cli.Tools;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>Where the machine's CPU went during a latency run, and the --sweep view of p99 against rate.</summary>
[TestFixture]
public class CpuBudgetTests
{
    [Test]
    public void MachineBusyTime_IsWallTimeLessIdleAndStolen()
    {
        // user nice system idle iowait irq softirq steal: the busy fields are ignored (the tick samples them).
        MachineCpu before = MachineCpu.Parse("cpu  221388 13 168044 682319 1605 0 78700 264 0 0", 2);
        MachineCpu after = MachineCpu.Parse("cpu  221400 13 168050 682419 1625 0 78700 274 0 0", 2);
        MachineCpu d = after - before;
        Assert.That(d.IdleSeconds, Is.EqualTo(1.2).Within(1e-9), "idle + iowait: 100 + 20 ticks");
        Assert.That(d.StealSeconds, Is.EqualTo(0.1).Within(1e-9));
        Assert.That(d.BusySeconds(1.0), Is.EqualTo(2 * 1.0 - 1.2 - 0.1).Within(1e-9));
        Assert.That(d.BusySeconds(0.5), Is.Zero, "never below zero when the readings straddle less wall time");
    }

    [Test]
    public void MachineCpu_IsReadFromThisMachine()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("/proc/stat is Linux's");
        MachineCpu? a = CpuTime.OfMachine();
        Thread.Sleep(50);
        MachineCpu? b = CpuTime.OfMachine();
        Assert.That(a, Is.Not.Null);
        Assert.That(b!.Value.Cpus, Is.EqualTo(Environment.ProcessorCount));
        Assert.That(b.Value.IdleSeconds, Is.GreaterThanOrEqualTo(a!.Value.IdleSeconds), "counters only grow");
        Assert.That(CpuTime.OfProcess(Environment.ProcessId), Is.GreaterThan(0), "this test process has used some CPU");
        Assert.That(CpuTime.OfProcess(int.MaxValue), Is.Zero, "a process that does not exist has none");
    }

    [Test]
    public void Budget_IsPercentOfOneCoreOverTheSendersRun()
    {
        CpuBudget b = CpuBudget.From(wallSeconds: 5, sender: 2.9, receivers: 2.3, proxy: 3.6, machineBusy: 9.2, machineSteal: 0.05, cpus: 2)!.Value;
        Assert.That(b.SenderPercent, Is.EqualTo(58));
        Assert.That(b.ReceiversPercent, Is.EqualTo(46));
        Assert.That(b.ProxyPercent, Is.EqualTo(72));
        Assert.That(b.MachinePercent, Is.EqualTo(184));
        Assert.That(b.StealPercent, Is.EqualTo(1));
        Assert.That(b.RestPercent, Is.EqualTo(8), "184 - 58 - 46 - 72");
        Assert.That(b.ToString(), Is.EqualTo("machine 184 % of 200 = sender 58 + receivers 46 + proxy 72 + rest 8; stolen 1"));

        CpuBudget native = CpuBudget.From(5, 2.9, 2.3, null, 5.0, 0, 2)!.Value;
        Assert.That(native.ProxyPercent, Is.Null);
        Assert.That(native.RestPercent, Is.Zero, "the processes' own counters can exceed the machine's by rounding; rest stays at 0");
        Assert.That(native.ToString(), Does.Contain("proxy -"));
        Assert.That(CpuBudget.From(0, 1, 1, 1, 1, 0, 2), Is.Null, "no wall time, no percentages");
    }

    [Test]
    public void SweepRates_AreParsedScaledLikeTheRateAndExcludeIt()
    {
        Assert.That(BenchOptions.Parse([]).SweepRatesFor(4), Is.Empty, "no sweep by default");
        BenchOptions o = BenchOptions.Parse(["--members", "4,32", "--sweep", "10000,5000,20000,5000"]);
        Assert.That(o.SweepRatesFor(4), Is.EqualTo(new double[] { 5000, 10000 }), "rising, once each, without the main 20,000/s");
        Assert.That(o.SweepRatesFor(32), Is.EqualTo(new double[] { 625, 1250 }), "the same member copies per second at 32 members");
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--sweep", "5000,fast"]));
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--sweep", "50"]));
    }

    private static BenchRow Row(string system, double rate, double p99, double machine)
    {
        var r = new BenchRow { System = system, Members = 4, LatencyRate = rate, P50Us = p99 / 2, P99Us = p99, P999Us = p99 * 2 };
        r.Budget = CpuBudget.From(1, 0.5, 0.4, system == "native" ? null : 0.3, machine / 100, 0, 2);
        return r;
    }

    [Test]
    public void Report_SetsEachSweepPointAgainstNativeAtTheSameRate()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4", "--sweep", "5000"]), new JsonObject());
        BenchRow native = Row("native", 20000, 80, 115), ring = Row("ring", 20000, 1000, 184);
        native.Sweep.Add(Row("native", 5000, 70, 40));
        ring.Sweep.Add(Row("ring", 5000, 140, 60));
        report.Rows.Add(native);
        report.Rows.Add(ring);

        string table = report.Table();
        Assert.That(table, Does.Contain("ring     5000/s 140 µs 2.00× (60 %)  20000/s 1000 µs 12.50× (184 %)"), table);
        Assert.That(table, Does.Contain("ring     machine 184 % of 200 = sender 50 + receivers 40 + proxy 30 + rest 64"), table);

        JsonObject row = report.ToJson()["rows"]![1]!.AsObject();
        JsonArray sweep = row["sweep"]!.AsArray();
        Assert.That(sweep.Select(p => (double)p!["latency_rate"]!), Is.EqualTo(new double[] { 5000, 20000 }));
        Assert.That(sweep.Select(p => (double)p!["p99_vs_native"]!), Is.EqualTo(new[] { 2.0, 12.5 }));
        Assert.That((double)row["machine_busy_percent"]!, Is.EqualTo(184));
        string[] csv = report.Csv().Split('\n');
        int column = Array.IndexOf(csv[0].Split(','), "proxy_cpu_percent");
        Assert.That(column, Is.GreaterThan(0), csv[0]);
        Assert.That(csv[2].Split(',')[column], Is.EqualTo("30"), "ring's proxy share in its CSV row");
        Assert.That(csv[1].Split(',')[column], Is.Empty, "native has no proxy");

        // The PNG gets a third panel, p99 against rate: the image is taller than the two-panel one.
        string png = Path.Combine(Path.GetTempPath(), $"mc-sweep-{Environment.ProcessId}.png");
        try
        {
            report.DrawPng(png);
            Assert.That(PngHeight(png), Is.EqualTo(1500));
            native.Sweep.Clear();
            ring.Sweep.Clear();
            report.DrawPng(png);
            Assert.That(PngHeight(png), Is.EqualTo(1000), "without --sweep, the two panels only");
        }
        finally
        {
            File.Delete(png);
        }
    }

    [Test]
    public void Table_SaysWhenNoTrialPassed_InsteadOfARateOfZero()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4"]), new JsonObject());
        BenchRow native = Row("native", 20000, 80, 115), ring = Row("ring", 20000, 1000, 184), socket = Row("socket", 20000, 2000, 160);
        native.LosslessRate = 40000;
        native.Trials = 3;
        ring.Trials = 1; // searched, every trial lost more than 0.1 %
        report.Rows.AddRange([native, ring, socket]); // socket: no search (--search-budget 0)

        string[] lines = report.Table().Split('\n');
        string RowOf(string system) => lines.First(l => l.StartsWith($"      4 {system} ", StringComparison.Ordinal)); // the table, before the CPU lines
        Assert.That(RowOf("native").Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], Is.EqualTo("40000"));
        string[] ringCells = RowOf("ring").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(ringCells[2], Is.EqualTo("none"), RowOf("ring"));
        Assert.That(ringCells[^4], Is.EqualTo("-"), "no throughput ratio for a rate that was not found");
        Assert.That(ringCells[^2], Is.EqualTo("12.50"), "the latency ratio stands");
        Assert.That(RowOf("socket").Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], Is.EqualTo("-"), RowOf("socket"));
    }

    /// <summary>The height field of a PNG's IHDR chunk (bytes 20..23, big-endian).</summary>
    private static int PngHeight(string path)
    {
        byte[] head = File.ReadAllBytes(path)[..24];
        Assert.That(head[1..4], Is.EqualTo("PNG"u8.ToArray()), "a PNG file");
        return System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20, 4));
    }
}
