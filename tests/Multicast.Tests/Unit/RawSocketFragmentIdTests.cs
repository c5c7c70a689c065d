using Multicast.Core.Packets;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>
/// A raw socket with the header included gives every packet whose IP ID is 0 a fresh one, fragment by fragment; the
/// transmitters give such fragments one shared non-zero ID first (RawSocketTxSlotsTests shows the kernel's side).
/// </summary>
public class RawSocketFragmentIdTests
{
    private static readonly byte[] Datagram =
        TestPackets.Build(new PacketSpec { Id = 0, FlagsFragment = 0, Payload = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray() });

    [Test]
    public void EveryFragmentOfADatagramWithIdZero_GetsTheSameNonZeroId_AndAValidHeaderChecksum()
    {
        List<byte[]> fragments = TestPackets.Fragment(Datagram, 1480);
        foreach (byte[] f in fragments) Ipv4Header.KeepFragmentIdThroughRawSocket(f);

        Assert.That(fragments.Select(f => TestPackets.Word(f, 4)), Is.All.EqualTo(Ipv4Header.RawSocketFragmentId));
        Assert.That(fragments.Select(f => TestPackets.IpChecksumField(f) == TestPackets.IpChecksum(f)), Is.All.True);
        Assert.That(TestPackets.Reassemble(fragments)[20..], Is.EqualTo(Datagram[20..]), "only the ID and the header checksum changed");
    }

    [TestCase((ushort)0, (ushort)0x4000, TestName = "whole datagram with ID 0 (DF): the kernel's fresh ID harms nothing")]
    [TestCase((ushort)0, (ushort)0, TestName = "whole datagram with ID 0, DF clear")]
    [TestCase((ushort)7, (ushort)0x2000, TestName = "first fragment with a non-zero ID")]
    [TestCase((ushort)7, (ushort)0x00B9, TestName = "last fragment with a non-zero ID")]
    public void AnythingElse_IsLeftAsItIs(ushort id, ushort flagsFragment)
    {
        byte[] packet = TestPackets.Build(new PacketSpec { Id = id, FlagsFragment = flagsFragment });
        byte[] before = packet.ToArray();
        Ipv4Header.KeepFragmentIdThroughRawSocket(packet);
        Assert.That(packet, Is.EqualTo(before));
    }
}
