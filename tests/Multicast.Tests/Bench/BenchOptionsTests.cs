using System.Diagnostics;
using Multicast.Cli;
using Multicast.Cli.Bench;
using Multicast.Cli.Demo;
using Multicast.Cli.Tools;
using Multicast.Tests.EndToEnd;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>
/// `multicast bench` refuses what it cannot run before it builds a lab (a run takes minutes), and the lab commands
/// (bench, demo, tool) call a mistyped flag unknown rather than asking for its value.
/// </summary>
[TestFixture]
public class BenchOptionsTests
{
    [Test]
    public void Systems_AreCheckedWhenParsed()
    {
        Assert.That(BenchOptions.Parse(["--systems", "native, kernel,ring-raw,pcap-raw"]).Systems,
            Is.EqualTo(new[] { "native", "kernel", "ring-raw", "pcap-raw" }));
        Assert.That(BenchOptions.Parse(["--engines", "socket"]).Systems, Is.EqualTo(new[] { "native", "kernel", "socket" }));

        Assert.That(() => BenchOptions.Parse(["--systems", "native,rign"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --systems: unknown system 'rign' (expected native, kernel, ring, ring-raw, socket, socket-raw, pcap, pcap-raw)"));
        Assert.That(() => BenchOptions.Parse(["--engines", "native"]), Throws.TypeOf<UsageException>()
            .With.Message.StartsWith("option --engines: unknown engine 'native'"), "the baselines always run; they are not engines");
        Assert.That(() => BenchOptions.Parse(["--systems", "ring,socket,ring"]), Throws.TypeOf<UsageException>()
            .With.Message.Contains("names a system twice"));
        Assert.That(() => BenchOptions.Parse(["--systems", ","]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --systems: no system given"));
    }

    [Test]
    public void AMistypedFlag_IsCalledUnknown_AndAMissingValueSaysSo()
    {
        Assert.That(() => BenchOptions.Parse(["--quick", "--keep-log"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("unknown option --keep-log"));
        Assert.That(() => BenchOptions.Parse(["--members", "4", "--rate"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --rate needs a value"));
        Assert.That(() => DemoCommand.Run(["--count", "10", "--verbose"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("unknown option --verbose"));
        Assert.That(() => DemoCommand.Run(["--count"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --count needs a value"));
        // --count 0: were the flag accepted, the tool would still send nothing to the host's network.
        Assert.That(() => TrafficTool.Run(["send", "--group", "224.1.2.3", "--port", "5000", "--count", "0", "--ratee"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("unknown option --ratee"));
        Assert.That(() => TrafficTool.Run(["send", "--group", "224.1.2.3", "--port"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --port needs a value"));
    }

    [Test]
    public void Options_ReadAsTheOtherLabCommandsReadThem()
    {
        BenchOptions o = BenchOptions.Parse(["--rate=1000", "--members", "8,2", "--sweep=500,2000", "--engine", "socket", "--keep-logs"]);
        Assert.That(o.LatencyRate, Is.EqualTo(1000));
        Assert.That(o.Members, Is.EqualTo(new[] { 8, 2 }));
        Assert.That(o.SweepRates, Is.EqualTo(new[] { 500.0, 2000.0 }));
        Assert.That(o.Engines, Is.EqualTo(new[] { "socket" }));
        Assert.That(o.KeepLogs, Is.True);
        Assert.That(o.Verbose, Is.False);

        BenchOptions quick = BenchOptions.Parse(["--duration", "3", "--quick"]);
        Assert.That((quick.Quick, quick.Members, quick.Duration, quick.TrialSeconds), Is.EqualTo((true, new[] { 2 }, 3.0, 0.4)),
            "--quick sets the small run's defaults wherever it stands; what is given with it wins");
        Assert.That(BenchOptions.Parse(["--members", "4", "--help"]).Help, Is.True);

        Assert.That(() => BenchOptions.Parse(["--members", "2.5"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --members: '2.5' is not an integer in [1, 80]"));
        Assert.That(() => BenchOptions.Parse(["--rate", "1000", "--rate", "2000"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --rate repeated"));
        Assert.That(() => BenchOptions.Parse(["--engines", "ring", "--engine", "socket"]), Throws.TypeOf<UsageException>()
            .With.Message.StartsWith("option --engines given twice"));
        Assert.That(() => BenchOptions.Parse(["4"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("unexpected argument '4'"));
    }

    [Test]
    public void TheCurve_RunsInAFullRun_AndWhereAskedFor()
    {
        Assert.That(BenchOptions.Parse([]).CurveMembers, Is.EqualTo(new[] { 4, 32, 256, 1024 }), "a full run states the curve to 1024");
        Assert.That(BenchOptions.Parse([]).CurveCopyRate, Is.EqualTo(80_000), "the latency runs' copies per second (20,000/s × 4)");
        Assert.That(BenchOptions.Parse(["--systems", "native,ring"]).CurveMembers, Is.Empty, "a paired run does not pay for it");
        Assert.That(BenchOptions.Parse(["--systems", "native,ring", "--curve", "8,4096"]).CurveMembers, Is.EqualTo(new[] { 8, 4096 }));
        Assert.That(BenchOptions.Parse(["--curve", "none"]).CurveMembers, Is.Empty);
        Assert.That(BenchOptions.Parse(["--quick"]).CurveMembers, Is.EqualTo(new[] { 2, 64 }));
        Assert.That(FanoutCurve.EnginesOf(BenchOptions.Parse(["--systems", "native,ring-raw,ring,pcap"])), Is.EqualTo(new[] { "ring", "pcap" }),
            "an ENGINE-raw row has the same server: measured once");
        Assert.That(() => BenchOptions.Parse(["--curve", "4097"]), Throws.TypeOf<UsageException>()
            .With.Message.EqualTo("option --curve: '4097' is not an integer in [1, 4096]"));
    }

    [Test]
    public void OutputDirectory_IsCreatedAndProbed_AndLeftClean()
    {
        string root = Path.Combine(Path.GetTempPath(), $"mc-out-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            string dir = Path.Combine(root, "a", "b");
            Assert.That(BenchCommand.OutputDirectoryProblem(dir), Is.Null);
            Assert.That(Directory.Exists(dir), Is.True, "the directory is made up front");
            Assert.That(Directory.EnumerateFileSystemEntries(dir), Is.Empty, "the write probe is removed");

            string file = Path.Combine(root, "plain-file");
            File.WriteAllText(file, "");
            Assert.That(BenchCommand.OutputDirectoryProblem(Path.Combine(file, "results")), Is.Not.Null.And.Not.Empty,
                "a directory under a regular file cannot be made");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Test]
    [Category("EndToEnd")]
    public void AnUnwritableOutputDirectory_FailsBeforeTheLabIsBuilt()
    {
        E2e.RequireRoot();
        string file = Path.GetTempFileName();
        TextWriter stderr = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            var sw = Stopwatch.StartNew();
            int code = BenchCommand.Run(["--quick", "--out", Path.Combine(file, "results")]);
            Assert.That(code, Is.EqualTo(1));
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "no lab was built, no system measured");
            Assert.That(captured.ToString(), Does.StartWith($"error: cannot write results to {Path.Combine(file, "results")}: "));
            Assert.That(captured.ToString().Trim().Split('\n'), Has.Length.EqualTo(1), "one line");
        }
        finally
        {
            Console.SetError(stderr);
            File.Delete(file);
        }
    }
}
