using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Multicast.Cli;
using Multicast.Cli.Bench;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using Multicast.Linux;
using Multicast.Linux.Ring;
using Multicast.Tests.Admin;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// `--standby MICROS|off`: the ring server's standby thread forwards what the RX ring holds while the data-plane thread
/// cannot get its CPU, so a stall of that CPU does not hold every datagram captured meanwhile.
/// </summary>
[TestFixture]
public partial class StandbyTests
{
    [Test]
    public void StandbyIsOnAt150MicrosByDefault_OffOrAPeriodFrom50To100000()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).StandbyMicros, Is.Null);
        Assert.That(EngineFactory.ServerRingOptions(null).StandbyMicros, Is.EqualTo(StandbyLoop.DefaultPeriodMicros).And.EqualTo(150));
        Assert.That(RxRingOptions.Default.StandbyMicros, Is.Zero, "clients have none");
        Assert.That(DaemonOptions.Parse(["-R", "--standby", "off"]).StandbyMicros, Is.Zero);
        Assert.That(DaemonOptions.Parse(["-R", "--standby=300"]).StandbyMicros, Is.EqualTo(300));
        Assert.That(EngineFactory.ServerRingOptions(null, standbyMicros: 0).StandbyMicros, Is.Zero);
        foreach (string bad in new[] { "49", "100001", "0", "-5", "1.5", "on", "" })
            Assert.That(() => DaemonOptions.Parse(["-R", "--standby", bad]),
                Throws.TypeOf<UsageException>().With.Message.EqualTo($"option --standby: '{bad}' is neither off nor a period from 50 to 100000 µs"), bad);
        Assert.That(DaemonOptions.IsDaemonOption("--standby"), Is.True, "the admin tools hand it to the daemon");
        Assert.That(BenchOptions.Parse(["--standby", "off"]).ServerArgs(), Is.EqualTo(new[] { "--standby", "off" }));
        Assert.That(BenchOptions.Parse(["--standby", "off"]).DaemonArgs(), Is.Empty, "the clients do not get it");
    }

    [Test]
    [Category("EndToEnd")]
    public void TheClient_RefusesStandby_InOneLine()
    {
        AdminHarness.RequireRoot();
        using var dir = new ConfigDir();
        ToolResult r = dir.Run("multic_admin", "-R", "--interface", "lo", "--engine", "ring", "--standby", "150");
        r.AssertOneLineError("--standby is a server option (multis_admin -R)");
    }

    private const int GroupPort = 5000, ServerPort = 7000, Count = 600, Rate = 2000, HogMs = 120, SeenBeforeHold = 10;

    /// <summary>
    /// The data-plane thread is pinned to one CPU and a real-time thread then holds that CPU for 120 ms, as a kernel
    /// thread of a busy VM holds it for milliseconds. With the standby, the datagrams sent meanwhile arrive within a few
    /// ms; with `--standby off` they wait for the CPU, which shows the hold was real.
    /// </summary>
    [Test]
    [Category("EndToEnd")]
    public void WhileTheDataPlanesCpuIsHeld_TheStandbyForwards()
    {
        IReadOnlyList<int> cpus = ThreadScheduling.AllowedCpus();
        if (cpus.Count < 2) Assert.Ignore("needs two CPUs: one to hold, one for the standby");
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        int held = cpus[0];

        (double maxWithStandby, long takeovers) = MaxLatencyWhileHeld(lab, held, cpus[1], "150");
        (double maxWithout, _) = MaxLatencyWhileHeld(lab, held, cpus[1], "off");

        Assert.That(maxWithout, Is.GreaterThan(HogMs / 2 * 1000.0), "without the standby the datagrams waited for the held CPU");
        Assert.That(takeovers, Is.GreaterThan(0), "the standby took over");
        Assert.That(maxWithStandby, Is.LessThan(HogMs / 8 * 1000.0), $"with the standby (without: {maxWithout:0} µs)");
    }

    /// <summary>
    /// One paced send (its thread on <paramref name="senderCpu"/>) to a one-member server pinned to <paramref name="cpu"/>,
    /// which is held mid-send; returns the worst latency after the warm-up. The latency is to the member's interface (the
    /// kernel's receive stamp), so a receiver that happened to sleep on the held CPU does not count.
    /// </summary>
    private static (double MaxLatencyUs, long Takeovers) MaxLatencyWhileHeld(VpcLab lab, int cpu, int senderCpu, string standby)
    {
        LabHost member = lab.Members[0];
        LabDaemon server = lab.StartServer(lab.Source, "ring",
            LabConfig.Server(IPAddress.Parse("224.1.2.3"), GroupPort, ServerPort, [member.Address]), null,
            "--cpu", cpu.ToString(), "--standby", standby);
        try
        {
            Assert.That(() => E2e.ServerLog(server), Does.Contain("data-plane thread pinned").After(10_000, 50));
            using LabProcess receiver = lab.StartReceiver(member, "--port", ServerPort.ToString(), "--expect", Count.ToString(),
                "--bind", "any", "--no-join", "--idle-ms", "3000", "--timeout-ms", "30000",
                "--arrival-log", Path.Combine(member.WorkDir, $"arrival-{standby}.bin"));
            long dropsBefore = lab.BridgeMulticastDrops();
            using LabProcess sender = lab.StartTool(lab.Source, "send", "--group", "224.1.2.3", "--port", GroupPort.ToString(),
                "--count", Count.ToString(), "--rate", Rate.ToString(), "--size", "64", "--interface-ip", lab.Source.Address.ToString(),
                "--cpu", senderCpu.ToString());
            // The hold is timed from the first datagrams, not from the sender's launch: a .NET start can take longer
            // than the whole warm-up on a busy machine, and a hold before the send would measure nothing. The bridge's
            // multicast drop rule counts the sender's originals, whatever the proxy does with them.
            Assert.That(() => lab.BridgeMulticastDrops() - dropsBefore, Is.GreaterThanOrEqualTo(SeenBeforeHold).After(20_000, 2),
                "the sender's datagrams reached the bridge");
            Thread.Sleep((Count / 3 - SeenBeforeHold) * 1000 / Rate); // a third of the send: the server is busy forwarding
            HoldCpu(cpu, HogMs);
            Assert.That(E2e.Long(sender.WaitForJsonResult(TimeSpan.FromSeconds(30)), "sent"), Is.EqualTo(Count));
            JsonObject got = receiver.WaitForJsonResult(TimeSpan.FromSeconds(40));
            Assert.That(E2e.Long(got, "received"), Is.EqualTo(Count), got.ToJsonString());
            Assert.That(E2e.Long(got, "reordered"), Is.Zero, "one writer at a time: the copies left in capture order");
            // From the sixth of the send on: the first datagrams wait for the member's next hop to resolve (~9 ms here).
            long[] arrival = Multicast.Cli.Tools.ToolLog.Read(Path.Combine(member.WorkDir, $"arrival-{standby}.bin"));
            double max = arrival[(Count / 6)..].Max() / 1000.0;
            TestContext.Progress.WriteLine($"--standby {standby}: worst {max:0} µs to the member's interface after the warm-up; " +
                                           $"all: {got["arrival_latency_us"]!.ToJsonString()}");
            Thread.Sleep(1200); // the stats file is rewritten every second
            return (max, server.Counter("standby_takeovers"));
        }
        catch
        {
            E2e.Report(lab, [server]);
            throw;
        }
        finally { server.Stop(); }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam { public int Priority; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, in SchedParam param);

    private const int SchedFifo = 1;

    /// <summary>A real-time thread pinned to <paramref name="cpu"/> spins for <paramref name="ms"/>: nothing else runs there.</summary>
    private static void HoldCpu(int cpu, int ms)
    {
        string? failure = null;
        var hog = new Thread(() =>
        {
            if (ThreadScheduling.SetCurrentThreadAffinity([cpu]) is int e and not 0) { failure = $"affinity: errno {e}"; return; }
            if (sched_setscheduler(0, SchedFifo, new SchedParam { Priority = 50 }) != 0)
            {
                failure = $"SCHED_FIFO refused: errno {Marshal.GetLastPInvokeError()}";
                return;
            }
            var held = Stopwatch.StartNew();
            while (held.ElapsedMilliseconds < ms) { }
        });
        hog.Start();
        hog.Join();
        if (failure is not null) Assert.Ignore($"cannot hold a CPU here ({failure})");
    }
}
