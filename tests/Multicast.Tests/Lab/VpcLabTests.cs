using System.Net;
using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using Multicast.Tests.EndToEnd;
using NUnit.Framework;

namespace Multicast.Tests.Lab;

/// <summary>The lab itself: it must be a faithful "VPC without multicast", and it must leave nothing behind.</summary>
[TestFixture]
[Category("EndToEnd")]
public class VpcLabTests
{
    private static readonly IPAddress Group = IPAddress.Parse("224.1.2.3");

    private static List<JsonObject> Stream(VpcLab lab, int port, int count, IEnumerable<LabHost> receivers)
    {
        var recv = receivers.Select(h => lab.StartReceiver(h, "--group", Group.ToString(), "--port", port.ToString(),
            "--interface-ip", h.Address.ToString(), "--expect", count.ToString(), "--idle-ms", "1500")).ToList();
        JsonObject sent = lab.StartTool(lab.Source, "send", "--group", Group.ToString(), "--port", port.ToString(), "--count", count.ToString(),
            "--rate", "5000", "--interface-ip", lab.Source.Address.ToString(), "--source-port", "42001").WaitForJsonResult(TimeSpan.FromSeconds(30));
        Assert.That(E2e.Long(sent, "sent"), Is.EqualTo(count), sent.ToJsonString());
        return recv.Select(r => r.WaitForJsonResult(TimeSpan.FromSeconds(30))).ToList();
    }

    [Test]
    public void BridgeDropsMulticast_AndForwardsItNativelyWhenTheDropIsRemoved()
    {
        using VpcLab lab = E2e.CreateLab(2, 0);
        long dropsBefore = lab.BridgeMulticastDrops();
        foreach (JsonObject r in Stream(lab, 5100, 300, lab.Members))
            Assert.That(E2e.Long(r, "received"), Is.Zero, r.ToJsonString());
        Assert.That(lab.BridgeMulticastDrops() - dropsBefore, Is.GreaterThanOrEqualTo(300 * lab.Members.Count),
            "the bridge's nftables rule should have dropped the multicast it flooded towards each member");

        // Same receivers and sender with the drop rule removed: proves the 0 above is the VPC rule, not a broken tool.
        lab.SetNativeMulticast(true);
        foreach (JsonObject r in Stream(lab, 5101, 300, lab.Members))
        {
            Assert.That(E2e.Long(r, "unique"), Is.EqualTo(300), r.ToJsonString());
            Assert.That(E2e.Long(r, "corrupt"), Is.Zero);
            Assert.That(E2e.Sources(r).Keys, Is.EqualTo(new[] { $"{lab.Source.Address}:42001" }));
        }
        lab.SetNativeMulticast(false);
        foreach (JsonObject r in Stream(lab, 5102, 100, lab.Members))
            Assert.That(E2e.Long(r, "received"), Is.Zero, "restoring the drop rule must block multicast again");
    }

    [Test]
    public void Receiver_SplitsLatencyAtTheMembersInterface()
    {
        using VpcLab lab = E2e.CreateLab(1, 0);
        lab.SetNativeMulticast(true);
        LabHost member = lab.Members[0];
        string latencyLog = Path.Combine(member.WorkDir, "latency.bin"), arrivalLog = Path.Combine(member.WorkDir, "arrival.bin");
        const int count = 500;
        LabProcess recv = lab.StartReceiver(member, "--group", Group.ToString(), "--port", "5104", "--interface-ip", member.Address.ToString(),
            "--expect", count.ToString(), "--idle-ms", "1500", "--latency-log", latencyLog, "--arrival-log", arrivalLog);
        JsonObject sent = lab.StartTool(lab.Source, "send", "--group", Group.ToString(), "--port", "5104", "--count", count.ToString(),
            "--rate", "5000", "--interface-ip", lab.Source.Address.ToString()).WaitForJsonResult(TimeSpan.FromSeconds(30));
        JsonObject r = recv.WaitForJsonResult(TimeSpan.FromSeconds(30));
        // The CPU both sides spent on the traffic, for the bench's budget: some, and not more than the machine has.
        double sendSeconds = (double)sent["elapsed_ms"]! / 1000;
        Assert.That((double)sent["loop_cpu_s"]!, Is.GreaterThan(0).And.LessThanOrEqualTo(sendSeconds * 1.1 + 0.01), sent.ToJsonString());
        Assert.That((double)sent["machine_busy_cpu_s"]!, Is.GreaterThanOrEqualTo(0).And.LessThanOrEqualTo(sendSeconds * (int)sent["machine_cpus"]! + 0.05), sent.ToJsonString());
        Assert.That((double)r["cpu_s"]!, Is.GreaterThan(0), r.ToJsonString());
        Assert.That(E2e.Long(r, "unique"), Is.EqualTo(count), r.ToJsonString());
        Assert.That((long)r["arrival_latency_us"]!["count"]!, Is.EqualTo(count), "every datagram carried the kernel's receive timestamp");
        Assert.That((long)r["loop_allocated_bytes"]!, Is.LessThan(8 * 1024), "recvmsg into pinned buffers: nothing allocated per datagram");

        // Each datagram reached the member's interface after it was sent and before the receiver read it.
        long[] latency = Multicast.Cli.Tools.ToolLog.Read(latencyLog), arrival = Multicast.Cli.Tools.ToolLog.Read(arrivalLog);
        Assert.That(arrival, Has.Length.EqualTo(count));
        for (int seq = 0; seq < count; seq++)
            Assert.That(arrival[seq], Is.GreaterThan(0).And.LessThanOrEqualTo(latency[seq]), $"datagram {seq}");
        lab.SetNativeMulticast(false);
    }

    [Test]
    public void Receiver_TimesOnlyItsOwnRun_NotAnEarlierRunsLateDatagrams()
    {
        // The bench's latency run follows its rate search in the same lab: what the search left queued in a proxy arrives
        // during the run, seconds late, and must neither be timed nor fill the run's sequence numbers.
        using VpcLab lab = E2e.CreateLab(1, 0);
        lab.SetNativeMulticast(true);
        LabHost member = lab.Members[0];
        string latencyLog = Path.Combine(member.WorkDir, "latency.bin");
        LabProcess recv = lab.StartReceiver(member, "--group", Group.ToString(), "--port", "5105", "--interface-ip", member.Address.ToString(),
            "--expect", "300", "--first-seq", "1000", "--idle-ms", "3000", "--latency-log", latencyLog);
        void Send(int firstSeq, int count) =>
            Assert.That(E2e.Long(lab.StartTool(lab.Source, "send", "--group", Group.ToString(), "--port", "5105", "--count", count.ToString(),
                "--first-seq", firstSeq.ToString(), "--rate", "5000", "--interface-ip", lab.Source.Address.ToString())
                .WaitForJsonResult(TimeSpan.FromSeconds(30)), "sent"), Is.EqualTo(count));
        Send(0, 100);      // an earlier run's
        Send(1300, 50);    // past this run's window
        Send(1000, 300);   // this run
        JsonObject r = recv.WaitForJsonResult(TimeSpan.FromSeconds(30));
        Assert.That(E2e.Long(r, "stale_seq"), Is.EqualTo(100), r.ToJsonString());
        Assert.That(E2e.Long(r, "unexpected_seq"), Is.EqualTo(50), r.ToJsonString());
        Assert.That(E2e.Long(r, "unique"), Is.EqualTo(300), r.ToJsonString());
        Assert.That(E2e.Long(r, "lost"), Is.Zero, r.ToJsonString());
        Assert.That((long)r["latency_us"]!["count"]!, Is.EqualTo(300), "only this run's datagrams are timed");
        long[] latency = Multicast.Cli.Tools.ToolLog.Read(latencyLog);
        Assert.That(latency, Has.Length.EqualTo(300).And.All.GreaterThan(0), "log index i is sequence 1000 + i");
        lab.SetNativeMulticast(false);
    }

    [Test]
    public void Dispose_RemovesNamespacesProcessesAndFiles()
    {
        VpcLab lab = E2e.CreateLab(1, 1);
        string[] namespaces = [lab.BridgeNamespace, .. lab.Hosts.Select(h => h.Namespace)];
        Assert.That(ListNamespaces(), Is.SupersetOf(namespaces));
        LabProcess receiver = lab.StartReceiver(lab.Members[0], "--group", Group.ToString(), "--port", "5103", "--timeout-ms", "600000", "--idle-ms", "600000");
        int pid = receiver.Id;
        lab.Dispose();
        Assert.That(ListNamespaces(), Has.None.StartsWith($"{VpcLab.NamePrefix}{lab.Id}"));
        Assert.That(Directory.Exists(lab.WorkDir), Is.False);
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the receiver started in the lab must be gone");
    }

    [Test]
    public void CleanupLeftovers_RemovesOrphansOnly()
    {
        E2e.RequireRoot();
        // An owner PID that cannot exist (above pid_max) stands for a crashed run.
        string orphan = $"{VpcLab.NamePrefix}999999999-abcdef-br";
        Assert.That(VpcLab.RunCommand(VpcLab.Tool("ip"), ["netns", "add", orphan], TimeSpan.FromSeconds(10)).ExitCode, Is.Zero);
        try
        {
            using VpcLab live = E2e.CreateLab(1, 0); // CreateLab already cleans leftovers: recreate the orphan after it
            Assert.That(VpcLab.RunCommand(VpcLab.Tool("ip"), ["netns", "add", orphan], TimeSpan.FromSeconds(10)).ExitCode, Is.Zero);
            IReadOnlyList<string> removed = VpcLab.CleanupLeftovers();
            Assert.That(removed, Does.Contain(orphan));
            Assert.That(ListNamespaces(), Does.Not.Contain(orphan));
            Assert.That(ListNamespaces(), Does.Contain(live.BridgeNamespace), "a live lab of this process must survive");
        }
        finally
        {
            VpcLab.RunCommand(VpcLab.Tool("ip"), ["netns", "del", orphan], TimeSpan.FromSeconds(10));
        }
    }

    private static List<string> ListNamespaces() =>
        VpcLab.RunCommand(VpcLab.Tool("ip"), ["netns", "list"], TimeSpan.FromSeconds(10)).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();
}
