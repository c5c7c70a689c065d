using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Tables;
using static Multicast.Tests.Unit.TestPackets;

namespace Multicast.Tests.Unit;

public class ClientForwarderTests
{
    private const uint ServerA = 0x0A000001;      // 10.0.0.1: two routes, by port
    private const uint ServerB = 0x0A000002;      // 10.0.0.2: any-port route only
    private const uint Unknown = 0x0A000003;
    private const uint Member = 0x0A000064;
    private const uint GroupA1 = 0xE0010101, GroupA2 = 0xE0010102, GroupB = 0xEF020202;
    private const byte DeliveryTtl = 1;

    private static ClientForwarder Client(bool fragmentsOnly = false)
    {
        var f = new ClientForwarder(DeliveryTtl, fragmentsOnly);
        f.Publish(new ClientTable(new ClientConfig(
        [
            new ClientRouteConfig(ServerA, 7126, GroupA1, 5000),
            new ClientRouteConfig(ServerA, 7127, GroupA2, 0),
            new ClientRouteConfig(ServerB, 0, GroupB, 6000),
        ]), null));
        return f;
    }

    private static PacketSpec Copy(uint server, ushort port) => new()
    {
        Source = server, Destination = Member, DestinationPort = port, Tos = 0xE0, Ttl = 64,
        Payload = [9, 8, 7, 6, 5, 4, 3],
    };

    [TestCase(ServerA, (ushort)7126, GroupA1, (ushort)5000)]
    [TestCase(ServerA, (ushort)7127, GroupA2, (ushort)7127)]
    [TestCase(ServerB, (ushort)1234, GroupB, (ushort)6000)]
    public void RestoresGroupAddressAndPort(uint server, ushort port, uint group, ushort expectedPort)
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(4, 1600);
        byte[] p = Build(Copy(server, port) with { Trailer = 6 });
        client.Restore(p, ring);

        Assert.That(ring.Count, Is.EqualTo(1));
        byte[] d = ring.Packet(0).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(ring.Destination(0), Is.EqualTo(group));
            Assert.That(d.Length, Is.EqualTo(TotalLength(p)));
            Assert.That(Address(d, 16), Is.EqualTo(group));
            Assert.That(Address(d, 12), Is.EqualTo(server));
            Assert.That(DestinationPort(d), Is.EqualTo(expectedPort));
            Assert.That(Word(d, Ihl(d)), Is.EqualTo(40000), "source port");
            Assert.That(d[1], Is.Zero, "TOS");
            Assert.That(d[8], Is.EqualTo(DeliveryTtl));
            Assert.That(IpChecksumField(d), Is.EqualTo(IpChecksum(d)));
            Assert.That(UdpChecksumField(d), Is.EqualTo(UdpChecksum(d)));
            Assert.That(d[(Ihl(d) + 8)..].ToArray(), Is.EqualTo(new byte[] { 9, 8, 7, 6, 5, 4, 3 }));
            Assert.That(client.Counters.Delivered, Is.EqualTo(1));
        });
    }

    [Test]
    public void RandomCopiesRestoreWithValidChecksums()
    {
        var r = new Random(20);
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(1, 1600);
        for (int n = 0; n < 2000; n++)
        {
            PacketSpec spec = RandomSpec(r, Member) with { Source = ServerB, Tos = 0xE0 };
            client.Restore(Build(spec), ring);
            ReadOnlySpan<byte> d = ring.Packet(0);
            Assert.That(IpChecksumField(d), Is.EqualTo(IpChecksum(d)), $"packet {n}");
            if (spec.Checksum == UdpChecksumMode.Zero) Assert.That(UdpChecksumField(d), Is.Zero);
            else Assert.That(UdpChecksumField(d), Is.EqualTo(UdpChecksum(d)), $"packet {n}");
            ring.Flush();
        }
    }

    [Test]
    public void RejectsUnknownServerUnknownPortAndUnmarked()
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(4, 1600);
        client.Restore(Build(Copy(Unknown, 7126)), ring);
        client.Restore(Build(Copy(ServerA, 9999)), ring);
        client.Restore(Build(Copy(ServerA, 7126) with { Tos = 0 }), ring);
        client.Restore(Build(Copy(ServerA, 7126) with { Tos = 0xE1 }), ring);
        client.Restore(Build(Copy(ServerB, 7126) with { Tos = 0xB8 }), ring);
        client.Restore(Build(Copy(ServerA, 7126) with { Protocol = 6 }), ring);

        Assert.That(ring.Count, Is.Zero);
        ClientCounters c = client.Counters;
        Assert.Multiple(() =>
        {
            Assert.That(c.Received, Is.EqualTo(6));
            Assert.That(c.DroppedUnknownServer, Is.EqualTo(1));
            Assert.That(c.DroppedUnknownPort, Is.EqualTo(1));
            Assert.That(c.DroppedNotMarked, Is.EqualTo(3));
            Assert.That(c.DroppedNotUdp, Is.EqualTo(1));
            Assert.That(c.Delivered, Is.Zero);
        });
    }

    private static IEnumerable<TestCaseData> Malformed()
    {
        byte[] good = Build(Copy(ServerA, 7126));
        yield return new TestCaseData(good[..19]).SetName("Truncated below the IP header");
        yield return new TestCaseData(good[..27]).SetName("Truncated inside the UDP header");
        yield return new TestCaseData(Patch(good, p => p[0] = 0x44)).SetName("IHL below 5");
        yield return new TestCaseData(Patch(good, p => p[0] = 0x4F)).SetName("IHL beyond the packet");
        yield return new TestCaseData(Patch(good, p => p[0] = 0x65)).SetName("Not version 4");
        yield return new TestCaseData(Patch(good, p => SetWord(p, 2, (ushort)(p.Length + 1)))).SetName("Total length beyond the buffer");
        yield return new TestCaseData(Patch(good, p => SetWord(p, 2, 24))).SetName("Total length shorter than IP+UDP");
        yield return new TestCaseData(Build(Copy(ServerB, 0))).SetName("UDP destination port 0");
        yield return new TestCaseData(Patch(good, p => SetWord(p, 24, (ushort)(p.Length - 20 + 1)))).SetName("UDP length beyond the packet");
        yield return new TestCaseData(Patch(good, p => SetWord(p, 24, 7))).SetName("UDP length below the header");
    }

    private static byte[] Patch(byte[] p, Action<byte[]> change)
    {
        byte[] c = (byte[])p.Clone();
        change(c);
        return c;
    }

    [TestCaseSource(nameof(Malformed))]
    public void MalformedIsCountedAndNothingWritten(byte[] packet)
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(4, 1600);
        client.Restore(packet, ring);
        Assert.That(ring.Count, Is.Zero);
        Assert.That(client.Counters.DroppedMalformed, Is.EqualTo(1));
        Assert.That(client.Counters.Delivered, Is.Zero);
    }

    [Test]
    public void LaterFragmentsFollowTheirFirstFragmentsRoute()
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(8, 1600);
        var r = new Random(21);
        // Two interleaved datagrams from the same server to different routes.
        List<byte[]> a = Fragment(Build(Copy(ServerA, 7126) with { Id = 100, Payload = ChecksumTests.RandomBytes(r, 2000) }), 800);
        List<byte[]> b = Fragment(Build(Copy(ServerA, 7127) with { Id = 101, Payload = ChecksumTests.RandomBytes(r, 2000) }), 800);
        client.Restore(a[0], ring);
        client.Restore(b[0], ring);
        client.Restore(b[1], ring);
        client.Restore(a[1], ring);
        client.Restore(a[2], ring);
        client.Restore(b[2], ring);

        Assert.That(ring.Count, Is.EqualTo(6));
        uint[] expected = [GroupA1, GroupA2, GroupA2, GroupA1, GroupA1, GroupA2];
        for (int i = 0; i < 6; i++)
        {
            Assert.That(ring.Destination(i), Is.EqualTo(expected[i]), $"fragment {i}");
            Assert.That(Address(ring.Packet(i), 16), Is.EqualTo(expected[i]), $"fragment {i}");
            Assert.That(IpChecksumField(ring.Packet(i)), Is.EqualTo(IpChecksum(ring.Packet(i))), $"fragment {i}");
        }
        Assert.That(client.Counters.Fragments, Is.EqualTo(6));
    }

    [Test]
    public void WhenTheKernelDeliversWholeDatagrams_OnlyFragmentsAreRestored()
    {
        ClientForwarder client = Client(fragmentsOnly: true);
        var ring = new MemoryTxRing(8, 1600);
        client.Restore(Build(Copy(ServerA, 7126)), ring);
        Assert.That(ring.Count, Is.Zero, "a whole datagram is the kernel's: restoring it too would deliver it twice");
        Assert.That(client.Counters.IgnoredKernelDelivers, Is.EqualTo(1));

        List<byte[]> fragments = Fragment(Build(Copy(ServerA, 7126) with { Payload = ChecksumTests.RandomBytes(new Random(5), 2000) }), 800);
        foreach (byte[] f in fragments) client.Restore(f, ring);
        Assert.That(ring.Count, Is.EqualTo(fragments.Count));
        for (int i = 0; i < ring.Count; i++) Assert.That(ring.Destination(i), Is.EqualTo(GroupA1), $"fragment {i}");
        Assert.That(client.Counters.Delivered, Is.EqualTo(fragments.Count));
    }

    [Test]
    public void LaterFragmentWithoutItsFirstGoesToTheServersOnlyRoute()
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(8, 1600);
        List<byte[]> fromB = Fragment(Build(Copy(ServerB, 4444) with { Id = 7, Payload = new byte[2000] }), 800);
        List<byte[]> fromA = Fragment(Build(Copy(ServerA, 7126) with { Id = 8, Payload = new byte[2000] }), 800);

        client.Restore(fromB[1], ring);    // ServerB has one route: unambiguous
        client.Restore(fromA[1], ring);    // ServerA has two: cannot tell which group

        Assert.That(ring.Count, Is.EqualTo(1));
        Assert.That(ring.Destination(0), Is.EqualTo(GroupB));
        Assert.That(client.Counters.DroppedFragmentUnmatched, Is.EqualTo(1));
    }

    [Test]
    public void FragmentedCopyReassemblesToAValidDatagram()
    {
        var r = new Random(22);
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(1024, 1600);
        for (int n = 0; n < 200; n++)
        {
            byte[] whole = Build(Copy(ServerA, 7126) with { Id = (ushort)n, Payload = ChecksumTests.RandomBytes(r, r.Next(50, 5000)) });
            List<byte[]> fragments = Fragment(whole, 8 * r.Next(1, 180));
            foreach (byte[] f in fragments) client.Restore(f, ring);
            Assert.That(ring.Count, Is.EqualTo(fragments.Count));
            var restored = new List<byte[]>();
            for (int i = 0; i < ring.Count; i++) restored.Add(ring.Packet(i).ToArray());
            ring.Flush();
            byte[] d = Reassemble(restored);
            Assert.That(Address(d, 16), Is.EqualTo(GroupA1));
            Assert.That(DestinationPort(d), Is.EqualTo(5000));
            Assert.That(UdpChecksumField(d), Is.EqualTo(UdpChecksum(d)), $"datagram {n} in {fragments.Count} fragments");
        }
    }

    [Test]
    public void RestoreDoesNotAllocate()
    {
        ClientForwarder client = Client();
        var ring = new MemoryTxRing(4, 1600);
        byte[] p = Build(Copy(ServerA, 7126) with { Payload = new byte[1000] });
        for (int i = 0; i < 100; i++) { client.Restore(p, ring); ring.Flush(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) { client.Restore(p, ring); ring.Flush(); }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
