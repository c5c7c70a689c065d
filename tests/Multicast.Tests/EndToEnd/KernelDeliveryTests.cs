using Multicast.Cli.Lab;
using Multicast.Core.Config;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux.Nftables;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>The client's in-kernel restore (multic --delivery nft): the rules it writes and what nft makes of them.</summary>
[TestFixture]
[Category("EndToEnd")]
public class KernelDeliveryTests
{
    private static readonly ClientTable Table = new(new ClientConfig(
    [
        new ClientRouteConfig(IpAddressV4.Parse("10.0.0.1"), 0, IpAddressV4.Parse("224.1.1.2"), 6000),
        new ClientRouteConfig(IpAddressV4.Parse("10.0.0.1"), 7126, IpAddressV4.Parse("224.1.1.1"), 5000),
        new ClientRouteConfig(IpAddressV4.Parse("10.0.0.2"), 7000, IpAddressV4.Parse("239.2.2.2"), 0),
    ]), null);

    private static string[] Rules(string script) =>
        script.Split('\n').Where(l => l.Contains("ip daddr set", StringComparison.Ordinal)).ToArray();

    [Test]
    public void Script_ExactPortsComeBeforeAnyPort_AndOnlyWholeMarkedDatagramsAreRewritten()
    {
        string[] rules = Rules(KernelDelivery.Script("eth0", Table.Routes));
        Assert.That(rules, Has.Length.EqualTo(3));
        Assert.Multiple(() =>
        {
            Assert.That(rules[^1], Does.Contain("ip saddr 10.0.0.1").And.Contain("udp dport != 0").And.Contain("ip daddr set 224.1.1.2 udp dport set 6000"),
                "the any-port route is last (an exact port wins, as in user space) and never accepts port 0");
            Assert.That(rules.Single(r => r.Contains("udp dport 7126")), Does.Contain("ip daddr set 224.1.1.1 udp dport set 5000"));
            Assert.That(rules.Single(r => r.Contains("udp dport 7000")), Does.Contain("ip daddr set 239.2.2.2 ip dscp set cs0").And.Not.Contain("dport set"),
                "no group port: the port is left as it came");
            foreach (string r in rules)
            {
                Assert.That(r, Does.Contain("meta pkttype host").And.Contain("ip dscp 0x38").And.Contain("ip frag-off & 0x3fff == 0"), r);
                Assert.That(r, Does.Contain("ip dscp set cs0"), "a restored packet loses the marker, so no later rule (or the copy-drop rule) matches it");
                Assert.That(r, Does.Contain("meta pkttype set multicast"), "a restored packet is delivered as multicast (early demux, cached route), like native multicast");
            }
        });
    }

    [Test]
    public void Script_IsAcceptedByNft_AndItsCountersAreRead()
    {
        E2e.RequireRoot();
        using VpcLab lab = E2e.CreateLab(1, 0);
        LabHost member = lab.Members[0];
        string file = Path.Combine(member.WorkDir, "deliver.nft");
        File.WriteAllText(file, KernelDelivery.Script(member.Interface, Table.Routes));
        CommandResult load = lab.Exec(member, "nft", "-f", file);
        Assert.That(load.ExitCode, Is.Zero, load.Stderr);

        // A config change swaps the rules inside the existing chain.
        File.WriteAllText(file, KernelDelivery.Script(member.Interface, Table.Routes, rulesOnly: true));
        load = lab.Exec(member, "nft", "-f", file);
        Assert.That(load.ExitCode, Is.Zero, load.Stderr);

        CommandResult list = lab.Exec(member, "nft", "-j", "list", "table", "netdev", KernelDelivery.TableName);
        Assert.That(list.ExitCode, Is.Zero, list.Stderr);
        IReadOnlyDictionary<string, (long Packets, long Bytes)> counters = KernelDelivery.ParseCounters(list.Stdout);
        Assert.That(counters.Keys, Is.EquivalentTo(new[] { "10.0.0.1:0", "10.0.0.1:7126", "10.0.0.2:7000" }));
        Assert.That(counters.Values.All(c => c == (0, 0)), Is.True);

        // The daemon reads the same counters over netlink: same keys, and the values the kernel holds.
        File.WriteAllText(file, $"add rule netdev {KernelDelivery.TableName} ingress ip saddr 10.9.9.9 counter packets 7 bytes 700 comment \"probe\"\n");
        load = lab.Exec(member, "nft", "-f", file);
        Assert.That(load.ExitCode, Is.Zero, load.Stderr);
        var (read, missing) = Pcap.PcapNetns.In(member.Namespace, () =>
        {
            using var reader = new NftCounterReader();
            return (reader.Read(NftCounterReader.NetdevFamily, KernelDelivery.TableName, "ingress"),
                    reader.Read(NftCounterReader.NetdevFamily, "no_such_table", "ingress"));
        });
        Assert.That(read.Keys, Is.EquivalentTo(new[] { "10.0.0.1:0", "10.0.0.1:7126", "10.0.0.2:7000", "probe" }));
        Assert.That(read["probe"], Is.EqualTo((7L, 700L)));
        Assert.That(read["10.0.0.2:7000"], Is.EqualTo((0L, 0L)));
        Assert.That(missing, Is.Empty);
    }
}
