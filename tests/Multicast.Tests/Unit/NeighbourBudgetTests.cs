using Multicast.Core.Config;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>On-link members are counted once each, over all groups; the daemon warns once they pass the soft limit.</summary>
[TestFixture]
public class NeighbourBudgetTests
{
    private static uint Ip(string s) => IpAddressV4.Parse(s);

    private static uint[] Range(string first, int count) => Enumerable.Range(0, count).Select(i => Ip(first) + (uint)i).ToArray();

    [Test]
    public void OnlyOnLinkMembers_CountOnceEach()
    {
        // The server is 10.0.0.5/22 and 172.16.0.1/24: 10.0.4.x and 192.168.x.x are behind a gateway (one entry, its own).
        var subnets = new[] { new LocalSubnet(Ip("10.0.0.5"), 22), new LocalSubnet(Ip("172.16.0.1"), 24) };
        var table = new FanoutTable(new ServerConfig(
        [
            new GroupConfig(Ip("224.1.2.3"), 5000, 0, [.. Range("10.0.0.10", 600), .. Range("192.168.0.1", 300)]),
            new GroupConfig(Ip("224.1.2.4"), 5000, 0, [.. Range("10.0.0.10", 100), .. Range("10.0.3.250", 10), Ip("172.16.0.9")]),
        ]), null);
        // 600 in the first group, 100 of them again in the second; 10.0.3.250..255 are on-link, 10.0.4.0..3 are not.
        Assert.That(NeighbourBudget.OnLinkMembers(table, subnets), Is.EqualTo(600 + 6 + 1));
        Assert.That(new LocalSubnet(Ip("10.0.0.5"), 22).Contains(Ip("10.0.4.0")), Is.False);
        Assert.That(new LocalSubnet(Ip("10.0.0.5"), 0).Contains(Ip("192.168.1.1")), Is.True, "/0 holds everything");
    }

    [Test]
    public void TheWarning_ComesPastTheSoftLimit_AndSaysWhatToRaise()
    {
        Assert.That(NeighbourBudget.Warning(512, "eth0", 512, 1024), Is.Null);
        string? w = NeighbourBudget.Warning(1100, "eth0", 512, 1024);
        Assert.That(w, Does.StartWith("1100 members are on-link on eth0"));
        Assert.That(w, Does.Contain("above 512 and holds at most 1024 (net.ipv4.neigh.default.gc_thresh2 and gc_thresh3)"));
        Assert.That(w, Does.Contain("sysctl -w net.ipv4.neigh.default.gc_thresh2=1536 net.ipv4.neigh.default.gc_thresh3=3072"));
        Assert.That(w, Does.Not.Contain("\n"), "one log line");
    }
}
