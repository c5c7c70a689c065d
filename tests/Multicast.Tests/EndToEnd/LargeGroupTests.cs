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
            Assert.That(() => lab.SinkPackets(sink), Is.EqualTo(copies).After(10000, 200), "copies that reached the members' host");
        }
        catch
        {
            E2e.Report([server]);
            throw;
        }
        finally { server.Stop(); }
    }
}
