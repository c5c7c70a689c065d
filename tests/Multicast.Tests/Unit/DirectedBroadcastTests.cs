using Multicast.Core.Config;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>Members that are the server's own subnet broadcast are found (the daemon warns), ordinary .255 hosts are not.</summary>
[TestFixture]
public class DirectedBroadcastTests
{
    private static uint Ip(string s) => IpAddressV4.Parse(s);

    private static FanoutTable Table(params string[] members) =>
        new(new ServerConfig([new GroupConfig(Ip("224.1.2.3"), 5000, 5000, members.Select(Ip).ToArray())]), null);

    [Test]
    public void TheSubnetBroadcastIsFoundAndAHostEndingIn255IsNot()
    {
        // The server is 10.0.0.5/23: 10.0.1.255 is its broadcast, 10.0.0.255 an ordinary host; 10.9.0.255 is elsewhere.
        var subnets = new[] { new LocalSubnet(Ip("10.0.0.5"), 23) };
        var found = DirectedBroadcast.Find(Table("10.0.0.255", "10.0.1.255", "10.0.1.7", "10.9.0.255"), subnets).ToList();

        Assert.That(found, Has.Count.EqualTo(1));
        Assert.That(IpAddressV4.Format(found[0].Member), Is.EqualTo("10.0.1.255"));
        Assert.That(IpAddressV4.Format(found[0].Group), Is.EqualTo("224.1.2.3"));
        Assert.That(found[0].Subnet.ToString(), Is.EqualTo("10.0.0.0/23"));
    }

    [Test]
    public void PointToPointAndHostRoutesHaveNoBroadcast()
    {
        var subnets = new[] { new LocalSubnet(Ip("10.0.0.0"), 31), new LocalSubnet(Ip("10.0.0.9"), 32) };
        Assert.That(DirectedBroadcast.Find(Table("10.0.0.1", "10.0.0.9"), subnets), Is.Empty);
        Assert.That(subnets[1].ToString(), Is.EqualTo("10.0.0.9/32"));
        Assert.That(new LocalSubnet(Ip("192.168.7.9"), 0).ToString(), Is.EqualTo("0.0.0.0/0"));
    }
}
