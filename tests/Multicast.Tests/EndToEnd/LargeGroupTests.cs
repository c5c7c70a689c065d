using System.Net;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// A group at the original's limit of 1024 members. One datagram then makes more copies than a batch of 64 makes for a
/// small group, and a backlog of a few datagrams makes more copies than the ring engine's TX ring has frames: every
/// copy must still leave, not be dropped as "TX full" because the ring was not sent while the batch filled it.
/// The members are sink addresses (<see cref="VpcLab.AddSinkMembers"/>), counted where they arrive.
/// </summary>
[TestFixture("ring")]
[TestFixture("socket")]
[TestFixture("pcap")]
[Category("EndToEnd")]
public class LargeGroupTests(string engine)
{
    [Test]
    public void ABurstToA1024MemberGroup_ReachesEveryMember()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        LabHost sink = lab.Members[0];
        IReadOnlyList<IPAddress> members = lab.AddSinkMembers(sink, 1024);
        LabDaemon server = lab.StartServer(lab.Source, engine, LabConfig.Server(IPAddress.Parse("224.1.2.3"), 5000, 0, members));
        try
        {
            // Unpaced: the datagrams queue in the capture ring, so the engine's batches hold several 1024-copy datagrams.
            const int datagrams = 200;
            long copies = datagrams * 1024L;
            E2e.UnpacedBurst(lab, datagrams);
            IReadOnlyDictionary<string, long> c = server.WaitForCounters(
                c => c.GetValueOrDefault("copies_sent") + c.GetValueOrDefault("copies_dropped_tx_full") >= copies, TimeSpan.FromSeconds(60));
            string all = string.Join(", ", c.Select(kv => $"{kv.Key}={kv.Value}"));
            Assert.That(c.GetValueOrDefault("capture_drops"), Is.Zero, "200 datagrams fit the capture queue: " + all);
            Assert.That(c.GetValueOrDefault("copies_dropped_tx_full"), Is.Zero, all);
            Assert.That(c.GetValueOrDefault("copies_sent"), Is.EqualTo(copies), all);
            // The ring's half-ring kicks stay ahead of a veth, which frees each frame within the kick: nothing waited.
            Assert.That(c.ContainsKey("tx_full_waits") && c["tx_full_waits"] == 0, Is.True, all);
            Assert.That(() => lab.SinkPackets(sink), Is.EqualTo(copies).After(10000, 200), "copies that reached the members' host");
        }
        catch
        {
            E2e.Report(lab, [server]);
            throw;
        }
        finally { server.Stop(); }
    }
}

/// <summary>More on-link members than the host's neighbour table keeps: the server says so, and what to raise.</summary>
[TestFixture]
[Category("EndToEnd")]
public class NeighbourBudgetEndToEndTests
{
    [Test]
    public void AGroupWithMoreOnLinkMembersThanTheNeighbourTableKeeps_IsWarnedAbout()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        // A /20 on the source's interface makes 600 config addresses on-link; nothing is sent, so no entry is made.
        lab.Exec(lab.Source, VpcLab.Tool("ip"), "addr", "add", "172.20.0.1/20", "dev", lab.Source.Interface);
        IPAddress[] onLink = Enumerable.Range(0, 600).Select(i => new IPAddress(new byte[] { 172, 20, (byte)(1 + i / 250), (byte)(1 + i % 250) })).ToArray();
        foreach ((IPAddress[] members, bool warned) in new[] { (onLink[..100], false), (onLink, true) })
        {
            LabDaemon server = lab.StartServer(lab.Source, "ring", LabConfig.Server(IPAddress.Parse("224.1.2.3"), 5000, 0, members));
            try
            {
                Assert.That(() => E2e.ServerLog(server), Does.Contain("multis started").After(5000, 100));
                string log = E2e.ServerLog(server);
                Assert.That(log.Contains($"{members.Length} members are on-link on {lab.Source.Interface}"), Is.EqualTo(warned), log);
                if (warned) Assert.That(log, Does.Contain("net.ipv4.neigh.default.gc_thresh3="));
            }
            finally { server.Stop(); }
        }
    }
}
