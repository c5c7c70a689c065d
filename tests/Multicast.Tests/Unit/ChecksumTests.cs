using NUnit.Framework;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using static Multicast.Tests.Unit.TestPackets;

namespace Multicast.Tests.Unit;

public class ChecksumTests
{
    private const uint Group = 0xEF010101; // 239.1.1.1

    private static ServerForwarder Server(ushort serverPort, params uint[] members)
    {
        var f = new ServerForwarder();
        f.Publish(new FanoutTable(new ServerConfig([new GroupConfig(Group, 0, serverPort, members)]), null));
        return f;
    }

    [Test]
    public void SumMatchesWordByWordReferenceForAnyLengthAndAlignment()
    {
        var r = new Random(1);
        for (int n = 0; n < 2000; n++)
        {
            var data = new byte[r.Next(0, 200)];
            r.NextBytes(data);
            uint reference = 0;
            for (int i = 0; i < data.Length; i += 2)
            {
                reference += i + 1 < data.Length ? (uint)(data[i] << 8 | data[i + 1]) : (uint)data[i] << 8;
                if (reference > 0xFFFF) reference = (reference & 0xFFFF) + 1;
            }
            Assert.That(InternetChecksum.Fold(InternetChecksum.Sum(data)), Is.EqualTo((ushort)reference), $"length {data.Length}");
        }
    }

    [Test]
    public void HeaderHelpersMatchReference()
    {
        var r = new Random(2);
        for (int n = 0; n < 2000; n++)
        {
            byte[] p = Build(RandomSpec(r, (uint)r.Next()) with { Checksum = UdpChecksumMode.Valid });
            Assert.That(Ipv4Header.ComputeChecksum(p), Is.EqualTo(IpChecksum(p)));
            Assert.That(Ipv4Header.ChecksumValid(p), Is.True);
            Assert.That(UdpHeader.ComputeChecksum(p), Is.EqualTo(UdpChecksum(p)));
        }
    }

    [Test]
    public void UpdateMatchesRecomputationForAddressAndWordChanges()
    {
        var r = new Random(3);
        for (int n = 0; n < 5000; n++)
        {
            byte[] p = Build(RandomSpec(r, (uint)r.Next()));
            ushort before = IpChecksumField(p);
            if (r.Next(2) == 0)
            {
                uint oldDst = Address(p, 16), newDst = (uint)r.Next() ^ (uint)r.Next() << 1;
                Ipv4Header.SetDestination(p, newDst);
                ushort updated = InternetChecksum.Update(before, InternetChecksum.SumOf(oldDst), InternetChecksum.SumOf(newDst));
                Assert.That(updated, Is.EqualTo(IpChecksum(p)), $"dst {oldDst:x8} -> {newDst:x8}");
            }
            else
            {
                ushort oldId = Word(p, 4), newId = (ushort)r.Next(65536);
                SetWord(p, 4, newId);
                Assert.That(InternetChecksum.Update(before, oldId, newId), Is.EqualTo(IpChecksum(p)), $"id {oldId} -> {newId}");
            }
        }
    }

    [Test]
    public void EveryCopyOfThousandsOfRandomPacketsCarriesCorrectChecksums([Values(0, 7126)] int serverPort)
    {
        var r = new Random(4 + serverPort);
        uint[] members = [0x0A000002, 0xC0A80101, 0xAC10FFFE, 0x01020304];
        ServerForwarder server = Server((ushort)serverPort, members);
        var ring = new MemoryTxRing(members.Length, 1600);
        for (int n = 0; n < 3000; n++)
        {
            PacketSpec spec = RandomSpec(r, Group);
            byte[] p = Build(spec);
            server.Forward(p, udpChecksumPartial: false, ring);
            Assert.That(ring.Count, Is.EqualTo(members.Length));
            for (int i = 0; i < ring.Count; i++)
            {
                ReadOnlySpan<byte> copy = ring.Packet(i);
                string what = $"packet {n} member {i} ihl {Ihl(copy)} payload {spec.Payload.Length} ttl {spec.Ttl}";
                Assert.That(IpChecksumField(copy), Is.EqualTo(IpChecksum(copy)), what);
                if (spec.Checksum == UdpChecksumMode.Zero)
                    Assert.That(UdpChecksumField(copy), Is.Zero, what);
                else
                    Assert.That(UdpChecksumField(copy), Is.EqualTo(UdpChecksum(copy)), what);
            }
            ring.Flush();
        }
    }

    [Test]
    public void ComputedZeroIsSentAsAllOnes()
    {
        const uint member = 0x0A000009;
        const ushort serverPort = 9000;
        // Choose two payload bytes so that the copy's data sums to negative zero, i.e. its checksum computes to 0.
        var spec = new PacketSpec { Destination = member, DestinationPort = serverPort, Payload = new byte[10], Checksum = UdpChecksumMode.Zero };
        byte[] copyShape = Build(spec);
        ushort folded = (ushort)~UdpChecksumRaw(copyShape);
        var payload = new byte[10];
        SetWord(payload, 0, (ushort)(0xFFFF - folded));
        byte[] original = Build(spec with { Destination = Group, DestinationPort = 5000, Payload = payload, Checksum = UdpChecksumMode.Valid });
        Assume.That(UdpChecksumField(original), Is.Not.EqualTo(0xFFFF), "the original itself must not be the special case");

        ServerForwarder server = Server(serverPort, member);
        var ring = new MemoryTxRing(1, 1600);
        server.Forward(original, false, ring);

        Assert.That(UdpChecksumField(ring.Packet(0)), Is.EqualTo(0xFFFF));
        Assert.That(UdpChecksum(ring.Packet(0)), Is.EqualTo(0xFFFF), "reference agrees the data sums to zero");
    }

    /// <summary>Checksum before the 0 → 0xFFFF substitution.</summary>
    private static ushort UdpChecksumRaw(byte[] ip)
    {
        ushort c = UdpChecksum(ip);
        return c == 0xFFFF ? (ushort)0 : c;
    }

    [Test]
    public void PartialChecksumFromOffloadIsCompletedBeforeUpdating()
    {
        var r = new Random(5);
        uint[] members = [0x0A000002, 0x0A000003];
        ServerForwarder server = Server(6000, members);
        var ring = new MemoryTxRing(2, 1600);
        for (int n = 0; n < 1000; n++)
        {
            byte[] p = Build(RandomSpec(r, Group) with { Checksum = UdpChecksumMode.PartialPseudoHeader });
            server.Forward(p, udpChecksumPartial: true, ring);
            for (int i = 0; i < 2; i++)
                Assert.That(UdpChecksumField(ring.Packet(i)), Is.EqualTo(UdpChecksum(ring.Packet(i))), $"packet {n} member {i}");
            ring.Flush();
        }
        Assert.That(server.Counters.ChecksumsCompleted, Is.EqualTo(1000));
    }

    [Test]
    public void FirstFragmentChecksumCoversTheWholeDatagram()
    {
        var r = new Random(6);
        const uint member = 0x0A000077;
        ServerForwarder server = Server(7000, member);
        var ring = new MemoryTxRing(1, 1600);
        for (int n = 0; n < 300; n++)
        {
            byte[] whole = Build(RandomSpec(r, Group, maxPayload: 4000) with { Payload = RandomBytes(r, r.Next(100, 4000)), Checksum = UdpChecksumMode.Valid, Trailer = 0 });
            List<byte[]> fragments = Fragment(whole, 8 * r.Next(2, 100));
            server.Forward(fragments[0], false, ring);
            byte[] firstCopy = ring.Packet(0).ToArray();
            ring.Flush();

            // Expected: the checksum of the entire datagram as it would look addressed to the member's port.
            byte[] expectedWhole = (byte[])whole.Clone();
            TestPackets.SetWord(expectedWhole, Ihl(whole) + 2, 7000);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(expectedWhole.AsSpan(16), member);
            Assert.That(UdpChecksumField(firstCopy), Is.EqualTo(UdpChecksum(expectedWhole)), $"packet {n}");
            Assert.That(IpChecksumField(firstCopy), Is.EqualTo(IpChecksum(firstCopy)));
        }
    }

    internal static byte[] RandomBytes(Random r, int n)
    {
        var b = new byte[n];
        r.NextBytes(b);
        return b;
    }
}
