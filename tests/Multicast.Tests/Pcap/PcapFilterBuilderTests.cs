using Multicast.Core.Packets;
using Multicast.Pcap;
using NUnit.Framework;
using SharpPcap.LibPcap;

namespace Multicast.Tests.Pcap;

public class PcapFilterBuilderTests
{
    private static readonly uint G1 = IpAddressV4.Parse("239.1.2.3"), G2 = IpAddressV4.Parse("224.0.0.251");

    [Test]
    public void Server_ListsEveryGroupByDestination_Sorted()
    {
        Assert.That(PcapFilterBuilder.ServerCapture([G1, G2, G1]),
            Is.EqualTo("ip proto 17 and (ip dst host 224.0.0.251 or ip dst host 239.1.2.3)"));
    }

    [Test]
    public void Server_NoGroups_CapturesNothing_NotEverything()
    {
        // The original compiled an empty filter, which captures every packet.
        Assert.That(PcapFilterBuilder.ServerCapture([]), Is.EqualTo(PcapFilterBuilder.MatchNothing));
    }

    [Test]
    public void Server_WithSourceMac_KeepsToOwnFrames()
    {
        Assert.That(PcapFilterBuilder.ServerCapture([G1], 0x0200_0A0B_0C0D),
            Is.EqualTo("ether src 02:00:0a:0b:0c:0d and ip proto 17 and (ip dst host 239.1.2.3)"));
    }

    [Test]
    public void Server_ManyGroups_FallsBackToEveryPossibleGroupAddress()
    {
        uint[] groups = Enumerable.Range(0, PcapFilterBuilder.MaxListedGroups + 1).Select(i => 0xEF000000u + (uint)i).ToArray();
        Assert.That(PcapFilterBuilder.ServerCapture(groups), Is.EqualTo("ip proto 17 and (ip dst net 224.0.0.0/4 or ip[19] = 255)"));
    }

    [Test]
    public void Client_MatchesMarkerAndServers()
    {
        Assert.That(PcapFilterBuilder.ClientCapture([IpAddressV4.Parse("10.0.0.5")], 0xE0),
            Is.EqualTo("ip proto 17 and ip[1] = 224 and (ip src host 10.0.0.5)"));
        Assert.That(PcapFilterBuilder.ClientCapture([], 0xE0), Is.EqualTo(PcapFilterBuilder.MatchNothing));
        Assert.That(PcapFilterBuilder.ClientCapture([IpAddressV4.Parse("10.0.0.5")], 0xE0, fragmentsOnly: true),
            Is.EqualTo("ip proto 17 and ip[1] = 224 and ip[6:2] & 0x3fff != 0 and (ip src host 10.0.0.5)"));
    }

    [Test]
    public void EveryShape_CompilesWithLibpcap()
    {
        uint[] many = Enumerable.Range(0, PcapFilterBuilder.MaxListedGroups).Select(i => 0xEF000000u + (uint)i).ToArray();
        string[] filters =
        [
            PcapFilterBuilder.ServerCapture([G1, G2]),
            PcapFilterBuilder.ServerCapture([]),
            PcapFilterBuilder.ServerCapture([G1], 0x0200_0A0B_0C0D),
            PcapFilterBuilder.ServerCapture(many),
            PcapFilterBuilder.ServerCapture([.. many, 0xEFFF0000]),
            PcapFilterBuilder.ClientCapture([IpAddressV4.Parse("10.0.0.5"), IpAddressV4.Parse("10.0.0.6")], 0xE0),
            PcapFilterBuilder.ClientCapture([IpAddressV4.Parse("10.0.0.5")], 0xE0, fragmentsOnly: true),
        ];
        foreach (string f in filters)
            Assert.That(PcapDevice.CheckFilter(f, out string? error), Is.True, $"{f}: {error}");
    }
}
