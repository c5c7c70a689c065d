using Multicast.Cli.Bench;
using Multicast.Cli.Tools;
using Multicast.Tests.Admin;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>The bench's analyses of the traffic tools' per-datagram logs: the p99 breakdown and latency from the schedule.</summary>
[TestFixture]
public class TailBreakdownTests
{
    private const int Count = 1000, Members = 4;
    private const long Normal = 100_000, Late = 10_000_000; // ns

    private static (long[] Lateness, List<long[]> Latency) Quiet()
    {
        var latency = Enumerable.Range(0, Members).Select(_ => Enumerable.Repeat(Normal, Count).ToArray()).ToList();
        return (new long[Count], latency);
    }

    [Test]
    public void EachLateCopyIsPutWhereItCameFrom()
    {
        (long[] lateness, List<long[]> latency) = Quiet();
        // At 1,000/s the 10 ms window is 10 datagrams. The sender falls 5 ms behind at 100; 103..106 come late everywhere.
        lateness[100] = 5_000_000;
        for (int s = 103; s <= 106; s++) foreach (long[] m in latency) m[s] = Late;
        // 500..509: the sender on time, 3 of 4 members late (the proxy or bridge held them).
        for (int s = 500; s <= 509; s++) for (int m = 0; m < 3; m++) latency[m][s] = Late;
        // 700..709: only member 2 late (its receiver waited for a CPU).
        for (int s = 700; s <= 709; s++) latency[2][s] = Late;
        // A lost copy (0) is neither late nor counted.
        latency[1][900] = 0;

        TailBreakdown t = TailBreakdown.Compute(lateness, latency, rate: 1000);

        // 16 + 30 + 10 = 56 late copies out of 3,999 received: above 1 %, so the p99 is the late value itself.
        Assert.That(t.P99Ns, Is.EqualTo(Late));
        Assert.That(t.Copies, Is.EqualTo(56));
        Assert.That(t.AfterSenderStall, Is.EqualTo(16));
        Assert.That(t.Shared, Is.EqualTo(30));
        Assert.That(t.AtMember, Is.EqualTo(10));
        Assert.That(t.ToJson()["shared_path_percent"]!.GetValue<double>(), Is.EqualTo(53.6));
    }

    [Test]
    public void ReceiveTimestampsTellTheMembersOwnWaitFromThePath()
    {
        (long[] lateness, List<long[]> latency) = Quiet();
        // Every copy reached its member's interface 10 µs after it was sent, unless set otherwise below.
        List<long[]> arrival = latency.Select(m => Enumerable.Repeat(10_000L, m.Length).ToArray()).ToList();
        // 500..509, sender on time, late at all four receivers: members 0 and 1 got it on time at the interface (their
        // own wait), members 2 and 3 late there too (the proxy or the bridge held it).
        for (int s = 500; s <= 509; s++)
            for (int m = 0; m < Members; m++)
            {
                latency[m][s] = Late;
                if (m >= 2) arrival[m][s] = Late - 1_000;
            }
        // After a stall, late everywhere: member 0 on time at its interface, the others queued behind the burst.
        lateness[100] = 5_000_000;
        for (int s = 103; s <= 106; s++)
            for (int m = 0; m < Members; m++)
            {
                latency[m][s] = Late;
                if (m >= 1) arrival[m][s] = Late - 1_000;
            }
        // A late copy without a receive timestamp, late at one member only: blamed on that member, as without timestamps.
        latency[3][700] = Late;
        arrival[3][700] = 0;

        TailBreakdown t = TailBreakdown.Compute(lateness, latency, rate: 1000, arrival);

        Assert.That(t.Copies, Is.EqualTo(57));
        Assert.That(t.AtMember, Is.EqualTo(20 + 4 + 1));
        Assert.That(t.Shared, Is.EqualTo(20));
        Assert.That(t.AfterSenderStall, Is.EqualTo(12));
    }

    [Test]
    public void AStallOlderThanTheWindowIsNotBlamed()
    {
        (long[] lateness, List<long[]> latency) = Quiet();
        lateness[100] = 5_000_000;
        // 11 datagrams (11 ms at 1,000/s) after the stall: outside the 10 ms window, so the shared path is to blame.
        for (int s = 111; s <= 140; s++) foreach (long[] m in latency) m[s] = Late;

        TailBreakdown t = TailBreakdown.Compute(lateness, latency, rate: 1000);

        Assert.That(t.AfterSenderStall, Is.Zero);
        Assert.That(t.Shared, Is.EqualTo(t.Copies).And.EqualTo(120));
    }

    [Test]
    public void NothingReceivedGivesAnEmptyBreakdown()
    {
        var latency = new List<long[]> { new long[10], new long[10] };
        Assert.That(TailBreakdown.Compute(new long[10], latency, 1000).Copies, Is.Zero);
    }

    [Test]
    public void LatencyFromTheScheduleAddsTheSendersLateness()
    {
        // Member 0: 1..100 µs; member 1: lost everything but one. The sender ran 1 ms late on datagrams 90..99.
        var latency = new List<long[]> { Enumerable.Range(1, 100).Select(i => i * 1000L).ToArray(), new long[100] };
        latency[1][0] = 5000;
        long[] lateness = new long[100];
        for (int s = 90; s < 100; s++) lateness[s] = 1_000_000;

        MemberLatency l = MemberLatency.FromSchedule(lateness, latency)!.Value;

        // Member 0 from the schedule: 1..90 µs, then 1,091..1,100 µs; member 1: 5 µs. Mean over members.
        Assert.That(l.P50Us, Is.EqualTo((50 + 5) / 2.0));
        Assert.That(l.P99Us, Is.EqualTo((1099 + 5) / 2.0));
        Assert.That(l.P999Us, Is.EqualTo((1100 + 5) / 2.0));
        Assert.That(MemberLatency.FromSchedule(lateness, [new long[100]]), Is.Null, "nothing received");

        // Without lateness: the logged values' own percentiles (1..100 µs and 5 µs).
        MemberLatency own = MemberLatency.Of(latency)!.Value;
        Assert.That(own.P50Us, Is.EqualTo((50 + 5) / 2.0));
        Assert.That(own.P99Us, Is.EqualTo((99 + 5) / 2.0));
    }

    [Test]
    public void ToolLogOptionsRefuseWhatTheyCannotDo()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"mc-taillog-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            ToolResult recv = AdminHarness.Run(dir, "multicast", "tool", "recv", "--group", "224.1.2.3", "--port", "5000",
                "--latency-log", Path.Combine(dir, "l.bin"));
            Assert.That(recv.Exit, Is.EqualTo(2), "a usage error");
            Assert.That(recv.Err, Does.StartWith("error: option --latency-log needs --expect"), recv.ToString());
            ToolResult arrival = AdminHarness.Run(dir, "multicast", "tool", "recv", "--group", "224.1.2.3", "--port", "5000",
                "--arrival-log", Path.Combine(dir, "a.bin"));
            Assert.That(arrival.Exit, Is.EqualTo(2), "a usage error");
            Assert.That(arrival.Err, Does.StartWith("error: option --arrival-log needs --expect"), arrival.ToString());

            // Each tool explains itself.
            foreach (string tool in new[] { "send", "recv", "rawsend" })
            {
                ToolResult help = AdminHarness.Run(dir, "multicast", "tool", tool, "--help");
                help.AssertOk();
                Assert.That(help.Out, Does.StartWith($"multicast tool {tool} "), help.ToString());
            }

            ToolResult send = AdminHarness.Run(dir, "multicast", "tool", "send", "--group", "224.1.2.3", "--port", "5000",
                "--lateness-log", Path.Combine(dir, "s.bin"));
            Assert.That(send.Exit, Is.EqualTo(2), "a usage error");
            Assert.That(send.Err, Does.StartWith("error: option --lateness-log needs --rate"), send.ToString());

            // One value per datagram, all of them read back (loopback only: 127.0.0.1 is the multicast interface).
            string log = Path.Combine(dir, "lateness.bin");
            ToolResult sent = AdminHarness.Run(dir, "multicast", "tool", "send", "--group", "224.1.2.3", "--port", "5000",
                "--rate", "2000", "--count", "300", "--interface-ip", "127.0.0.1", "--lateness-log", log);
            Assert.That(sent.Exit, Is.Zero, sent.ToString());
            long[] lateness = ToolLog.Read(log);
            Assert.That(lateness, Has.Length.EqualTo(300));
            Assert.That(lateness, Has.All.GreaterThanOrEqualTo(0).And.All.LessThan(10_000_000_000L));
            Assert.That(lateness.Max(), Is.GreaterThan(0), "a sleeping sender wakes a little after its due time");

            // A log that cannot be created fails before any traffic, in one line.
            ToolResult unwritable = AdminHarness.Run(dir, "multicast", "tool", "send", "--group", "224.1.2.3", "--port", "5000",
                "--rate", "100", "--count", "1", "--interface-ip", "127.0.0.1", "--lateness-log", Path.Combine(dir, "missing", "s.bin"));
            Assert.That(unwritable.Exit, Is.EqualTo(1));
            Assert.That(unwritable.Err.Trim(), Does.StartWith("error: tool send:").And.Not.Contain("\n"), unwritable.ToString());
            Assert.That(unwritable.Out, Is.Empty, "nothing was sent");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
