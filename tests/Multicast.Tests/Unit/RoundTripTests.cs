using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Tables;
using static Multicast.Tests.Unit.TestPackets;

namespace Multicast.Tests.Unit;

/// <summary>Server copy → client restore must give the application's packet back, apart from what the hop changes.</summary>
public class RoundTripTests
{
    private const uint Sender = 0xAC100005;   // 172.16.0.5
    private const uint Group = 0xE0010203;
    private const uint Member = 0xAC100009;
    private const byte DeliveryTtl = 0;

    /// <param name="serverPort">server_port of the group (0 = copies keep the group port).</param>
    /// <param name="clientKeyPort">Port the client route matches (0 = any).</param>
    /// <param name="clientGroupPort">Port the client restores (0 = keep the copy's port).</param>
    /// <param name="portRestored">Whether the delivered packet ends up with the application's port.</param>
    [TestCase(0, 0, 0, true, TestName = "Kernel style: port unchanged, any-port route")]
    [TestCase(0, 5000, 0, true, TestName = "Kernel style: port unchanged, client_port route")]
    [TestCase(7126, 7126, 5000, true, TestName = "User style: server_port, client restores the group port")]
    [TestCase(7126, 0, 5000, true, TestName = "User style: any-port route restores the group port")]
    [TestCase(7126, 7126, 0, false, TestName = "User style: client keeps server_port")]
    public void DeliveredPacketIsTheOriginalExceptTosTtl(int serverPort, int clientKeyPort, int clientGroupPort, bool portRestored)
    {
        var server = new ServerForwarder();
        server.Publish(new FanoutTable(new ServerConfig([new GroupConfig(Group, 5000, (ushort)serverPort, [Member])]), null));
        var client = new ClientForwarder(DeliveryTtl);
        client.Publish(new ClientTable(new ClientConfig([new ClientRouteConfig(Sender, (ushort)clientKeyPort, Group, (ushort)clientGroupPort)]), null));
        var wire = new MemoryTxRing(1, 1600);
        var local = new MemoryTxRing(1, 1600);

        var r = new Random(30 + serverPort + clientKeyPort + clientGroupPort);
        for (int n = 0; n < 1000; n++)
        {
            PacketSpec spec = RandomSpec(r, Group) with { Source = Sender, DestinationPort = 5000 };
            byte[] original = Build(spec);
            server.Forward(original, false, wire);
            client.Restore(wire.Packet(0), local);
            Assert.That(local.Count, Is.EqualTo(1), $"packet {n}");
            byte[] delivered = local.Packet(0).ToArray();
            wire.Flush();
            local.Flush();

            Assert.That(delivered[1], Is.Zero, "TOS");
            Assert.That(delivered[8], Is.EqualTo(DeliveryTtl));
            Assert.That(IpChecksumField(delivered), Is.EqualTo(IpChecksum(delivered)));
            if (spec.Checksum == UdpChecksumMode.Valid)
                Assert.That(UdpChecksumField(delivered), Is.EqualTo(UdpChecksum(delivered)));

            // Put back what the hop is allowed to change; the rest must be byte-identical.
            byte[] expected = original[..TotalLength(original)];
            delivered[1] = expected[1];
            delivered[8] = expected[8];
            SetWord(delivered, 10, IpChecksumField(expected));
            if (!portRestored)
            {
                Assert.That(DestinationPort(delivered), Is.EqualTo(serverPort));
                SetWord(delivered, Ihl(delivered) + 2, 5000);
                SetWord(delivered, Ihl(delivered) + 6, UdpChecksumField(expected));
            }
            Assert.That(delivered, Is.EqualTo(expected), $"packet {n}");
        }
    }

    [Test]
    public void FragmentedDatagramSurvivesTheRoundTrip()
    {
        var server = new ServerForwarder();
        server.Publish(new FanoutTable(new ServerConfig([new GroupConfig(Group, 5000, 7126, [Member])]), null));
        var client = new ClientForwarder(DeliveryTtl);
        client.Publish(new ClientTable(new ClientConfig([new ClientRouteConfig(Sender, 7126, Group, 5000)]), null));
        var wire = new MemoryTxRing(1, 1600);
        var local = new MemoryTxRing(64, 1600);
        var r = new Random(31);

        byte[] original = Build(new PacketSpec { Source = Sender, Destination = Group, DestinationPort = 5000, Payload = ChecksumTests.RandomBytes(r, 8000) });
        foreach (byte[] f in Fragment(original, 1480))
        {
            server.Forward(f, false, wire);
            client.Restore(wire.Packet(0), local);
            wire.Flush();
        }
        var fragments = new List<byte[]>();
        for (int i = 0; i < local.Count; i++) fragments.Add(local.Packet(i).ToArray());
        byte[] delivered = Reassemble(fragments);

        Assert.That(UdpChecksumField(delivered), Is.EqualTo(UdpChecksum(delivered)));
        delivered[1] = original[1];
        delivered[8] = original[8];
        SetWord(delivered, 10, IpChecksumField(original));
        Assert.That(delivered, Is.EqualTo(original));
    }
}
