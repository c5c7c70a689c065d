using System.Diagnostics;
using System.Text.Json.Nodes;
using Multicast.Cli.Bench;
using Multicast.Tests.EndToEnd;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>`multicast bench --quick`: every system yields a row with plausible figures, and the files are written.</summary>
[TestFixture]
[Category("EndToEnd")]
public class BenchSmokeTests
{
    [Test]
    public void LatencyRate_KeepsMemberCopiesPerSecondAcrossMemberCounts()
    {
        BenchOptions defaults = BenchOptions.Parse([]);
        Assert.That(defaults.LatencyRateFor(4), Is.EqualTo(20_000));
        Assert.That(defaults.LatencyRateFor(32), Is.EqualTo(2_500));
        BenchOptions custom = BenchOptions.Parse(["--members", "8,2", "--rate", "1000"]);
        Assert.That(custom.LatencyRateFor(8), Is.EqualTo(1_000));
        Assert.That(custom.LatencyRateFor(2), Is.EqualTo(4_000));
    }

    [Test]
    public void MaxQueue_IsOffByDefaultAndParsed()
    {
        Assert.That(BenchOptions.Parse([]).MaxQueueMs, Is.Null, "by default a trial passes on loss alone");
        Assert.That(BenchOptions.Parse(["--max-queue-ms", "50"]).MaxQueueMs, Is.EqualTo(50));
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--max-queue-ms", "-1"]));
    }

    [Test]
    public void DaemonSettings_AreParsedAndHandedToEveryDaemon()
    {
        Assert.That(BenchOptions.Parse([]).DaemonArgs(), Is.Empty, "by default the daemons use their own defaults");
        Assert.That(BenchOptions.Parse(["--idle", "park", "--nice", "-5"]).DaemonArgs(),
            Is.EqualTo(new[] { "--idle", "park", "--nice", "-5" }));
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--nice", "20"]));
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--nice", "1.5"]));
        Assert.Throws<Multicast.Cli.UsageException>(() => BenchOptions.Parse(["--idle", "eager"]));
        Assert.That(BenchOptions.Parse(["--rx-buffer", "512K"]).DaemonArgs(), Is.EqualTo(new[] { "--rx-buffer", "512K" }));
        Assert.That(() => BenchOptions.Parse(["--rx-buffer", "8MB"]),
            Throws.TypeOf<Multicast.Cli.UsageException>().With.Message.StartsWith("option --rx-buffer: '8MB' is not a size"));
    }

    [Test]
    public void QuickBench_WritesARowPerSystem()
    {
        E2e.RequireRoot();
        string outDir = Path.Combine(Path.GetTempPath(), $"mc-bench-{Environment.ProcessId}");
        var sw = Stopwatch.StartNew();
        try
        {
            // Tiny settings: 2 members, short trials, a small search budget (the whole run stays well under 40 s).
            BenchOptions o = BenchOptions.Parse(["--quick", "--out", outDir, "--search-budget", "2", "--duration", "0.6", "--keep-logs", "--sweep", "2000"]);
            BenchReport report = BenchCommand.Execute(o, line => TestContext.Progress.WriteLine(line));
            report.Write(outDir, line => TestContext.Progress.WriteLine(line));

            JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!.AsObject();
            var rows = json["rows"]!.AsArray().Select(r => r!.AsObject()).ToList();
            Assert.That(rows.Select(r => (string)r["system"]!), Is.EqualTo(new[] { "native", "kernel", "ring", "ring-raw", "socket", "pcap" }));
            foreach (JsonObject r in rows)
            {
                string name = (string)r["system"]!;
                Assert.That(r["error"], Is.Null, $"{name}: {r.ToJsonString()}");
                Assert.That((int)r["members"]!, Is.EqualTo(2));
                Assert.That((double)r["lossless_rate"]!, Is.GreaterThan(100), name);
                Assert.That((double)r["member_deliveries_per_s"]!, Is.GreaterThan(200), name);
                Assert.That((double)r["lossless_backlog_ms"]!, Is.GreaterThanOrEqualTo(0).And.LessThan(60_000), name);
                // The latency run waited for the search's queue (at least one 200 ms quiet window, at most 30 s).
                Assert.That((double)r["search_drain_ms"]!, Is.GreaterThanOrEqualTo(200).And.LessThan(31_000), name);
                Assert.That((double)r["latency_loss_percent"]!, Is.LessThan(50), name);
                double p50 = (double)r["p50_us"]!, p99 = (double)r["p99_us"]!;
                Assert.That(p50, Is.GreaterThan(0).And.LessThan(1_000_000), name);
                Assert.That(p99, Is.GreaterThanOrEqualTo(p50), name);
                // Every datagram reaches a member's interface before its receiver reads it, so each percentile of the
                // latency to the interfaces is at most the same percentile of the latency to the receivers.
                double ifP50 = (double)r["interface_p50_us"]!, ifP99 = (double)r["interface_p99_us"]!;
                Assert.That(ifP50, Is.GreaterThan(0).And.LessThanOrEqualTo(p50), name);
                Assert.That(ifP99, Is.GreaterThanOrEqualTo(ifP50).And.LessThanOrEqualTo(p99), name);
                // The tools' per-datagram logs made it back: every late copy is put somewhere.
                JsonObject causes = r["p99_causes"]!.AsObject();
                Assert.That((long)causes["copies"]!, Is.GreaterThan(0), name);
                double placed = (double)causes["after_sender_stall_percent"]! + (double)causes["shared_path_percent"]! + (double)causes["at_member_percent"]!;
                Assert.That(placed, Is.EqualTo(100).Within(0.2), name);
                bool engine = name is not ("native" or "kernel");
                // Where the CPU went: the sender and the receivers always worked, the proxy only for an engine, and
                // the machine (2 cores or more) worked at least as much as the sender alone.
                double machine = (double)r["machine_busy_percent"]!, sender = (double)r["sender_cpu_percent"]!;
                Assert.That(sender, Is.GreaterThan(0).And.LessThanOrEqualTo(105), name);
                Assert.That((double)r["receivers_cpu_percent"]!, Is.GreaterThan(0), name);
                Assert.That(machine, Is.GreaterThanOrEqualTo(sender * 0.8).And.LessThanOrEqualTo(100 * (int)r["cpus"]! + 5), name);
                Assert.That(r["proxy_cpu_percent"] is null, Is.EqualTo(!engine), name);
                // --sweep 2000: a second latency run below the main 5,000/s, listed in rising rate with its own p99.
                JsonArray sweep = r["sweep"]!.AsArray();
                Assert.That(sweep.Select(p => (double)p!["latency_rate"]!), Is.EqualTo(new double[] { 2000, 5000 }), name);
                Assert.That((double)sweep[0]!["p99_us"]!, Is.GreaterThan(0), name);
                Assert.That((double)sweep[0]!["latency_loss_percent"]!, Is.LessThan(50), name);
                Assert.That(r["cpu_s_per_million_copies"] is null, Is.EqualTo(!engine), name);
                Assert.That(r["gc_gen0"] is null, Is.EqualTo(!engine), name);
            }
            // --quick's cost-per-copy curve: each engine's server alone at 2 and 64 sink members, every copy counted.
            var curve = json["fanout_curve"]!.AsArray().Select(p => p!.AsObject()).ToList();
            Assert.That(curve.Select(p => $"{(string)p["engine"]!} {(int)p["members"]!}"),
                Is.EqualTo(new[] { "ring 2", "ring 64", "socket 2", "socket 64", "pcap 2", "pcap 64" }));
            foreach (JsonObject p in curve)
            {
                string name = $"curve {(string)p["engine"]!} {(int)p["members"]!}: {p.ToJsonString()}";
                Assert.That(p["error"], Is.Null, name);
                Assert.That((long)p["datagrams_sent"]!, Is.GreaterThan(0), name);
                Assert.That((long)p["copies_arrived"]!, Is.EqualTo((long)p["copies_expected"]!), name);
                Assert.That((long)p["copies_expected"]!, Is.EqualTo((long)p["datagrams_sent"]! * (int)p["members"]!), name);
                Assert.That((double)p["cpu_s_per_million_copies"]!, Is.GreaterThan(0), name);
                Assert.That((long)p["gc_gen0"]!, Is.Zero, name);
                Assert.That((double?)p["hop_p50_us"], Is.GreaterThan(0), "every engine times its hop: " + name);
            }
            Assert.That(File.ReadAllLines(Path.Combine(outDir, "curve.csv")), Has.Length.EqualTo(7));
            Assert.That((double)rows[0]["throughput_vs_native"]!, Is.EqualTo(1.0));
            Assert.That(File.Exists(Path.Combine(outDir, "bench.csv")), Is.True);
            Assert.That(File.ReadAllLines(Path.Combine(outDir, "bench.csv")), Has.Length.EqualTo(7));
            Assert.That(new FileInfo(Path.Combine(outDir, "bench.png")).Length, Is.GreaterThan(1000));
            // --keep-logs: per system the sender's log and each member's two logs, one value per datagram of the latency run.
            foreach (JsonObject r in rows)
            {
                string logs = Path.Combine(outDir, "logs", $"2-{(string)r["system"]!}");
                long[] lateness = Multicast.Cli.Tools.ToolLog.Read(Path.Combine(logs, "lateness.bin"));
                string[] memberLogs = Directory.GetFiles(logs, "*-latency.bin");
                Assert.That(memberLogs, Has.Length.EqualTo(2), logs);
                foreach (string latencyLog in memberLogs)
                {
                    long[] latency = Multicast.Cli.Tools.ToolLog.Read(latencyLog);
                    long[] arrival = Multicast.Cli.Tools.ToolLog.Read(latencyLog.Replace("-latency.bin", "-arrival.bin"));
                    Assert.That(latency, Has.Length.EqualTo(lateness.Length).And.Length.EqualTo(arrival.Length), latencyLog);
                    Assert.That(latency.Count(v => v > 0), Is.EqualTo(arrival.Count(v => v > 0)), "each datagram read carried its receive timestamp");
                }
            }
            TestContext.Progress.WriteLine($"quick bench took {sw.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
