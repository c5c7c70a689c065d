using System.Text.Json.Nodes;
using Multicast.Cli;
using Multicast.Cli.Bench;
using Multicast.Tests.EndToEnd;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>`multicast bench --rounds N`: the search and the latency run repeated with the systems taking turns, ratios per round.</summary>
[TestFixture]
public class BenchRoundsTests
{
    [Test]
    public void Rounds_AreOneByDefault_AndOnlyWholeNumbersFrom1To50()
    {
        Assert.That(BenchOptions.Parse([]).Rounds, Is.EqualTo(1));
        Assert.That(BenchOptions.Parse(["--rounds", "5"]).Rounds, Is.EqualTo(5));
        foreach (string bad in new[] { "0", "51", "2.5", "many" })
            Assert.That(() => BenchOptions.Parse(["--rounds", bad]),
                Throws.TypeOf<UsageException>().With.Message.Contains($"option --rounds: '{bad}' is not an integer in [1, 50]"), bad);
        // The member count and the payload size are whole numbers too: 2.5 members used to become 2 without a word.
        Assert.That(() => BenchOptions.Parse(["--members", "2.5"]), Throws.TypeOf<UsageException>());
        Assert.That(() => BenchOptions.Parse(["--size", "100.5"]), Throws.TypeOf<UsageException>());
    }

    [Test]
    public void Median_OfAnOddCountIsTheMiddle_OfAnEvenCountTheMeanOfTheMiddleTwo()
    {
        Assert.That(BenchReport.Median([3, 1, 2]), Is.EqualTo(2));
        Assert.That(BenchReport.Median([4, 1, 3, 2]), Is.EqualTo(2.5));
        Assert.That(BenchReport.Median([double.NaN, 7]), Is.EqualTo(7), "a round without a figure does not count");
        Assert.That(BenchReport.Median([]), Is.Null);
    }

    [Test]
    public void Report_ShowsTheProxysOwnHop_ForTheEnginesThatTimeIt_WithoutARatioToNative()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4"]), new JsonObject());
        BenchRow native = Row("native", 80), ring = Row("ring", 800);
        native.ToInterface = new MemberLatency(5, 9, 20);
        ring.ToInterface = new MemberLatency(16, 344, 1577);
        ring.ProxyHop = new MemberLatency(1.7, 138.2, 1351.7);
        report.Rows.Add(native);
        report.Rows.Add(ring);

        string table = report.Table();
        Assert.That(table, Does.Contain("      4 ring     p50/p99/p99.9 16.0/344.0/1577.0 µs, p99 38.22× native"), table);
        Assert.That(table, Does.Contain("      4 ring     p50/p99/p99.9 1.7/138.2/1351.7 µs" + Environment.NewLine), "no ratio: native has no hop");
        JsonObject row = report.ToJson()["rows"]![1]!.AsObject();
        Assert.That(((double)row["hop_p50_us"]!, (double)row["hop_p99_us"]!), Is.EqualTo((1.7, 138.2)));
        Assert.That(report.Csv().Split('\n')[0], Does.Contain("hop_p99_us"));
    }

    [Test]
    public void Report_SetsEachRoundAgainstNativesSameRound_AndGivesTheMedianAndRange()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4", "--rounds", "4"]), new JsonObject());
        BenchRow native = Row("native", 80), ring = Row("ring", 800);
        native.Rounds.AddRange([Row("native", 100), Row("native", 50), Row("native", 90)]);
        // Round 3 of ring failed: it gets no ratio, and the others make the median.
        ring.Rounds.AddRange([Row("ring", 500), new BenchRow { System = "ring", Members = 4, LatencyRate = 20000, Error = "daemon died" }, Row("ring", 1800)]);
        report.Rows.Add(native);
        report.Rows.Add(ring);

        string table = report.Table();
        Assert.That(table, Does.Contain("p99 at 20000/s over 4 rounds"), table);
        Assert.That(table, Does.Contain("      4 native   p99 80 100 50 90 µs, median 85 µs"), table);
        // 800/80, 500/100, -, 1800/90: ratios 10, 5, 20; their median 10, not the ratio of the medians.
        Assert.That(table, Does.Contain("      4 ring     p99 800 500 failed 1800 µs, median 800 µs; × native 10.00 5.00 - 20.00, median 10.00× (5.00–20.00×)"), table);

        JsonObject row = report.ToJson()["rows"]![1]!.AsObject();
        JsonArray rounds = row["rounds"]!.AsArray();
        Assert.That(rounds.Select(r => (int)r!["round"]!), Is.EqualTo(new[] { 1, 2, 3, 4 }));
        Assert.That(rounds.Select(r => (double?)r!["p99_vs_native"]), Is.EqualTo(new double?[] { 10, 5, null, 20 }));
        Assert.That((string)rounds[2]!["error"]!, Is.EqualTo("daemon died"));
        Assert.That((double)row["rounds_p99_vs_native_median"]!, Is.EqualTo(10));
        Assert.That((double)row["rounds_p99_vs_native_min"]!, Is.EqualTo(5));
        Assert.That((double)row["rounds_p99_vs_native_max"]!, Is.EqualTo(20));
        Assert.That((double)row["rounds_p99_median_us"]!, Is.EqualTo(800));
        string[] csv = report.Csv().Split('\n');
        int column = Array.IndexOf(csv[0].Split(','), "rounds_p99_vs_native_median");
        Assert.That(column, Is.GreaterThan(0), csv[0]);
        Assert.That(csv[2].Split(',')[column], Is.EqualTo("10"));
    }

    [Test]
    public void Report_SetsEachRoundsLosslessRateAgainstNativesAndTheKernelsSameRound()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4", "--rounds", "3"]), new JsonObject());
        BenchRow native = Searched(Row("native", 80), 50_000), kernel = Searched(Row("kernel", 200), 25_000), ring = Searched(Row("ring", 800), 50_000);
        native.Rounds.AddRange([Searched(Row("native", 90), 40_000), Searched(Row("native", 70), 50_000)]);
        kernel.Rounds.AddRange([Searched(Row("kernel", 210), 20_000), Searched(Row("kernel", 190), 25_000)]);
        // Ring's round 2 passed no trial: "none", no ratio; its round 3 is one unlucky search that the median outvotes.
        ring.Rounds.AddRange([Searched(Row("ring", 700), 0), Searched(Row("ring", 900), 35_000)]);
        report.Rows.AddRange([native, kernel, ring]);

        string table = report.Table();
        Assert.That(table, Does.Contain("lossless rate over 3 rounds"), table);
        Assert.That(table, Does.Contain("      4 native   lossless 50000 40000 50000/s, median 50000/s" + Environment.NewLine), table);
        Assert.That(table, Does.Contain("      4 kernel   lossless 25000 20000 25000/s, median 25000/s; × native 0.50 0.50 0.50, median 0.50× (0.50–0.50×)" +
                                        Environment.NewLine), table);
        Assert.That(table, Does.Contain("      4 ring     lossless 50000 none 35000/s, median 42500/s; × native 1.00 - 0.70, median 0.85× (0.70–1.00×); " +
                                        "× kernel 2.00 - 1.40, median 1.70× (1.40–2.00×)"), table);

        JsonObject row = report.ToJson()["rows"]![2]!.AsObject();
        JsonArray rounds = row["rounds"]!.AsArray();
        Assert.That(rounds.Select(r => (double?)r!["lossless_rate"]), Is.EqualTo(new double?[] { 50_000, null, 35_000 }));
        Assert.That(rounds.Select(r => (double?)r!["throughput_vs_kernel"]), Is.EqualTo(new double?[] { 2, null, 1.4 }));
        Assert.That((double)row["rounds_lossless_median"]!, Is.EqualTo(42_500));
        Assert.That((double)row["rounds_throughput_vs_native_median"]!, Is.EqualTo(0.85));
        Assert.That((double)row["rounds_throughput_vs_kernel_median"]!, Is.EqualTo(1.7));
        string[] csv = report.Csv().Split('\n');
        int column = Array.IndexOf(csv[0].Split(','), "rounds_throughput_vs_kernel_median");
        Assert.That(column, Is.GreaterThan(0), csv[0]);
        Assert.That(csv[3].Split(',')[column], Is.EqualTo("1.7"));
    }

    [Test]
    public void Report_WithoutASearchInTheLaterRounds_HasNoLosslessRoundsSection()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4", "--rounds", "2"]), new JsonObject());
        BenchRow native = Searched(Row("native", 80), 50_000), ring = Searched(Row("ring", 800), 50_000);
        native.Rounds.Add(Row("native", 90));
        ring.Rounds.Add(Row("ring", 700));
        report.Rows.AddRange([native, ring]);
        Assert.That(report.Table(), Does.Not.Contain("lossless rate over"));
        Assert.That(report.ToJson()["rows"]![1]!["rounds_throughput_vs_native_median"], Is.Null);
    }

    [Test]
    public void Report_WithOneRound_HasNoRoundsSection()
    {
        var report = new BenchReport(BenchOptions.Parse(["--members", "4"]), new JsonObject());
        report.Rows.Add(Row("native", 80));
        report.Rows.Add(Row("ring", 800));
        Assert.That(report.Table(), Does.Not.Contain("rounds"));
        Assert.That(report.ToJson()["rows"]![1]!["rounds"], Is.Null);
    }

    [Test]
    [Category("EndToEnd")]
    public void TwoRounds_MeasureEverySystemTwice_InTurn()
    {
        E2e.RequireRoot();
        string outDir = Path.Combine(Path.GetTempPath(), $"mc-rounds-{Environment.ProcessId}");
        try
        {
            var lines = new List<string>();
            BenchOptions o = BenchOptions.Parse(["--quick", "--systems", "native,ring", "--search-budget", "1", "--duration", "0.5",
                                                 "--rounds", "2", "--keep-logs", "--out", outDir]);
            BenchReport report = BenchCommand.Execute(o, line => { lines.Add(line); TestContext.Progress.WriteLine(line); });
            report.Write(outDir, line => TestContext.Progress.WriteLine(line));

            // Round 2 starts only after round 1 of every system, and goes through them in the same order.
            int Line(string prefix) => lines.FindIndex(l => l.StartsWith(prefix, StringComparison.Ordinal));
            Assert.That(Line("[2 members] ring: "), Is.LessThan(Line("[2 members] round 2/2 native: ")));
            Assert.That(Line("[2 members] round 2/2 native: "), Is.LessThan(Line("[2 members] round 2/2 ring: ")));

            JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!.AsObject();
            var rows = json["rows"]!.AsArray().Select(r => r!.AsObject()).ToList();
            JsonArray nativeRounds = rows[0]["rounds"]!.AsArray(), ringRounds = rows[1]["rounds"]!.AsArray();
            Assert.That(nativeRounds, Has.Count.EqualTo(2));
            Assert.That(ringRounds, Has.Count.EqualTo(2));
            for (int i = 0; i < 2; i++)
            {
                Assert.That(ringRounds[i]!["error"], Is.Null, ringRounds[i]!.ToJsonString());
                Assert.That((double)ringRounds[i]!["latency_loss_percent"]!, Is.LessThan(50));
                double nativeP99 = (double)nativeRounds[i]!["p99_us"]!, ringP99 = (double)ringRounds[i]!["p99_us"]!;
                Assert.That(nativeP99, Is.GreaterThan(0));
                Assert.That(ringP99, Is.GreaterThan(0));
                Assert.That((double)ringRounds[i]!["p99_vs_native"]!, Is.EqualTo(ringP99 / nativeP99).Within(0.001), $"round {i + 1}");
                // Every round searched the lossless rate again, and sets it against native's of the same round.
                Assert.That((int)nativeRounds[i]!["trials"]!, Is.GreaterThan(0), $"round {i + 1}");
                Assert.That((int)ringRounds[i]!["trials"]!, Is.GreaterThan(0), $"round {i + 1}");
                if ((double?)ringRounds[i]!["lossless_rate"] is double ringRate && (double?)nativeRounds[i]!["lossless_rate"] is double nativeRate)
                    Assert.That((double)ringRounds[i]!["throughput_vs_native"]!, Is.EqualTo(ringRate / nativeRate).Within(0.001), $"round {i + 1}");
            }
            Assert.That((double?)ringRounds[0]!["lossless_rate"] ?? 0, Is.EqualTo((double)rows[1]["lossless_rate"]!), "round 1 is the table's search");
            // Round 1 is the table's own run.
            Assert.That((double)ringRounds[0]!["p99_us"]!, Is.EqualTo((double)rows[1]["p99_us"]!));
            // The later round's logs are kept beside the first's, one value per datagram of its run.
            string logs = Path.Combine(outDir, "logs", "2-ring-round2");
            long[] lateness = Multicast.Cli.Tools.ToolLog.Read(Path.Combine(logs, "lateness.bin"));
            Assert.That(lateness, Has.Length.EqualTo((int)(o.LatencyRateFor(2) * o.Duration)));
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }

    private static BenchRow Searched(BenchRow row, double lossless)
    {
        row.Trials = 5;
        row.LosslessRate = lossless;
        return row;
    }

    private static BenchRow Row(string system, double p99) =>
        new() { System = system, Members = 4, LatencyRate = 20000, P50Us = p99 / 4, P99Us = p99, P999Us = p99 * 2 };
}
