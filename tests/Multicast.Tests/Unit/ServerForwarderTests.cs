using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Tables;
using static Multicast.Tests.Unit.TestPackets;

namespace Multicast.Tests.Unit;

public class ServerForwarderTests
{
    private const uint Group = 0xE0010203;       // 224.1.2.3
    private const uint OtherGroup = 0xEF000001;  // 239.0.0.1, configured without members
    private static readonly uint[] Members = [0xC0A80101, 0xC0A80102, 0xC0A80103]; // 192.168.1.1-3

    private static ServerForwarder Server(ushort serverPort, uint[]? members = null)
    {
        var f = new ServerForwarder();
        f.Publish(new FanoutTable(new ServerConfig(
        [
            new GroupConfig(Group, 5000, serverPort, members ?? Members),
            new GroupConfig(OtherGroup, 0, 0, []),
        ]), null));
        return f;
    }

    /// <summary>Offsets the wire format allows to differ between the application's packet and a copy.</summary>
    private static bool MayDiffer(int offset, int ihl, bool first) =>
        offset is 1 or 8 or 10 or 11 or >= 16 and < 20 ||
        first && offset >= ihl && (offset - ihl is 2 or 3 or 6 or 7);

    [Test]
    public void CopiesFollowTheWireFormat([Values(0, 7126)] int serverPort)
    {
        var r = new Random(10 + serverPort);
        ServerForwarder server = Server((ushort)serverPort);
        var ring = new MemoryTxRing(8, 1600);
        for (int n = 0; n < 2000; n++)
        {
            PacketSpec spec = RandomSpec(r, Group);
            byte[] p = Build(spec);
            int total = TotalLength(p), ihl = Ihl(p);
            server.Forward(p, false, ring);

            Assert.That(ring.Count, Is.EqualTo(Members.Length), "one copy per member");
            for (int i = 0; i < Members.Length; i++)
            {
                ReadOnlySpan<byte> c = ring.Packet(i);
                string what = $"packet {n}, member {i}, tos {spec.Tos:x2}, ttl {spec.Ttl}";
                Assert.That(ring.Destination(i), Is.EqualTo(Members[i]), "member order");
                Assert.That(c.Length, Is.EqualTo(total), "link padding is not copied");
                Assert.That(c[1], Is.EqualTo(0xE0), what);
                Assert.That(c[8], Is.EqualTo(Math.Max(spec.Ttl, (byte)64)), what);
                Assert.That(Address(c, 16), Is.EqualTo(Members[i]), what);
                Assert.That(Address(c, 12), Is.EqualTo(spec.Source), what);
                Assert.That(Word(c, ihl), Is.EqualTo(spec.SourcePort), what);
                Assert.That(DestinationPort(c), Is.EqualTo(serverPort != 0 ? serverPort : spec.DestinationPort), what);
                for (int b = 0; b < total; b++)
                    if (!MayDiffer(b, ihl, first: true) && c[b] != p[b])
                        Assert.That(c[b], Is.EqualTo(p[b]), $"{what}: byte {b} (ihl {ihl}) must be unchanged");
            }
            ring.Flush();
        }
        Assert.That(server.Counters.Captured, Is.EqualTo(2000));
        Assert.That(server.Counters.Forwarded, Is.EqualTo(2000));
        Assert.That(server.Counters.CopiesSent, Is.EqualTo(2000 * Members.Length));
    }

    [TestCase(1, 64)]
    [TestCase(63, 64)]
    [TestCase(64, 64)]
    [TestCase(65, 65)]
    [TestCase(255, 255)]
    public void TtlIsRaisedTo64ButNeverLowered(int ttl, int expected)
    {
        var ring = new MemoryTxRing(8, 1600);
        Server(0).Forward(Build(new PacketSpec { Destination = Group, Ttl = (byte)ttl }), false, ring);
        Assert.That(ring.Packet(0)[8], Is.EqualTo(expected));
    }

    [Test]
    public void EachPathIsCountedAndOnlyGroupPacketsAreCopied()
    {
        ServerForwarder server = Server(7126);
        var ring = new MemoryTxRing(8, 1600);
        server.Forward(Build(new PacketSpec { Destination = 0xE0090909 }), false, ring);      // not a group
        server.Forward(Build(new PacketSpec { Destination = OtherGroup }), false, ring);      // no members
        server.Forward(Build(new PacketSpec { Destination = Group, Protocol = 6 }), false, ring);
        server.Forward(Build(new PacketSpec { Destination = Group })[..19], false, ring);      // truncated
        server.Forward(Build(new PacketSpec { Destination = Group, DestinationPort = 0 }), false, ring);
        Assert.That(ring.Count, Is.Zero);

        server.Forward(Build(new PacketSpec { Destination = Group }), false, ring);
        ServerCounters c = server.Counters;
        Assert.Multiple(() =>
        {
            Assert.That(c.Captured, Is.EqualTo(6));
            Assert.That(c.DroppedNoGroup, Is.EqualTo(1));
            Assert.That(c.DroppedNoMembers, Is.EqualTo(1));
            Assert.That(c.DroppedNotUdp, Is.EqualTo(1));
            Assert.That(c.DroppedMalformed, Is.EqualTo(2));
            Assert.That(c.Forwarded, Is.EqualTo(1));
            Assert.That(c.CopiesSent, Is.EqualTo(3));
            Assert.That(ring.Count, Is.EqualTo(3));
        });
    }

    [Test]
    public void FullTxDropsPerMemberAndContinuesWithTheNext()
    {
        ServerForwarder server = Server(0);
        var ring = new FlakyTx(new MemoryTxRing(8, 1600), refuse: 0xC0A80102);
        server.Forward(Build(new PacketSpec { Destination = Group }), false, ring);

        FanoutGroup g = server.Table.Lookup(Group)!;
        Assert.That(ring.Inner.Count, Is.EqualTo(2));
        Assert.That(ring.Inner.Destination(0), Is.EqualTo(Members[0]));
        Assert.That(ring.Inner.Destination(1), Is.EqualTo(Members[2]), "the member after the refused one still gets its copy");
        Assert.That(server.Counters.CopiesDroppedTxFull, Is.EqualTo(1));
        Assert.That(server.Counters.CopiesSent, Is.EqualTo(2));
        Assert.That(g.MemberDrops, Is.EqualTo(new long[] { 0, 1, 0 }));
        Assert.That(g.MemberCopies, Is.EqualTo(new long[] { 1, 0, 1 }));
        Assert.That(g.Counters.CopiesDropped, Is.EqualTo(1));
    }

    [Test]
    public void RingFullMidwayDropsTheRest()
    {
        ServerForwarder server = Server(0);
        var ring = new MemoryTxRing(2, 1600);
        server.Forward(Build(new PacketSpec { Destination = Group }), false, ring);
        Assert.That(ring.Count, Is.EqualTo(2));
        Assert.That(server.Counters.CopiesDroppedTxFull, Is.EqualTo(1));
        Assert.That(server.Table.Lookup(Group)!.MemberDrops, Is.EqualTo(new long[] { 0, 0, 1 }));
    }

    [Test]
    public void FragmentsFirstGetsPortAndChecksumLaterOnlyDestination()
    {
        var r = new Random(11);
        ServerForwarder server = Server(7126);
        var ring = new MemoryTxRing(8, 1600);
        byte[] whole = Build(new PacketSpec { Destination = Group, Payload = ChecksumTests.RandomBytes(r, 3000), Options = [1, 1, 1, 0] });
        List<byte[]> fragments = Fragment(whole, 1400);
        Assert.That(fragments, Has.Count.EqualTo(3));

        foreach (byte[] f in fragments)
        {
            server.Forward(f, false, ring);
            bool first = (Word(f, 6) & 0x1FFF) == 0;
            int ihl = Ihl(f);
            for (int i = 0; i < Members.Length; i++)
            {
                ReadOnlySpan<byte> c = ring.Packet(i);
                Assert.That(Address(c, 16), Is.EqualTo(Members[i]));
                Assert.That(IpChecksumField(c), Is.EqualTo(IpChecksum(c)));
                Assert.That(c[1], Is.EqualTo(0xE0));
                Assert.That(Word(c, 6), Is.EqualTo(Word(f, 6)), "fragment offset and flags unchanged");
                if (first) Assert.That(DestinationPort(c), Is.EqualTo(7126));
                for (int b = 0; b < f.Length; b++)
                    if (!MayDiffer(b, ihl, first) && c[b] != f[b])
                        Assert.That(c[b], Is.EqualTo(f[b]), $"fragment {Word(f, 6) & 0x1FFF}: byte {b}");
            }
            ring.Flush();
        }
        Assert.That(server.Counters.Fragments, Is.EqualTo(3));
    }

    [Test]
    public void ForwardDoesNotAllocate()
    {
        ServerForwarder server = Server(7126);
        var ring = new MemoryTxRing(8, 1600);
        byte[] p = Build(new PacketSpec { Destination = Group, Payload = new byte[1000] });
        for (int i = 0; i < 100; i++) { server.Forward(p, false, ring); ring.Flush(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) { server.Forward(p, i % 2 == 0, ring); ring.Flush(); }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    /// <summary>Refuses every slot for one destination, as a per-destination queue that is full would.</summary>
    private sealed class FlakyTx(MemoryTxRing inner, uint refuse) : ITxSlots
    {
        public MemoryTxRing Inner => inner;
        public Span<byte> Acquire(uint destination, int length) => destination == refuse ? default : inner.Acquire(destination, length);
        public void Commit() => inner.Commit();
        public void Flush() => inner.Flush();
    }
}
