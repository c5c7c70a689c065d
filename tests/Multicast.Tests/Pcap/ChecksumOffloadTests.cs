using Multicast.Pcap;
using Multicast.Tests.Unit;
using NUnit.Framework;

namespace Multicast.Tests.Pcap;

public class ChecksumOffloadTests
{
    [Test]
    public void PseudoHeaderSumInTheField_IsPartial()
    {
        byte[] p = TestPackets.Build(new PacketSpec { Checksum = UdpChecksumMode.PartialPseudoHeader, FlagsFragment = 0 });
        Assert.That(ChecksumOffload.LooksPartial(p), Is.True);
    }

    [TestCase(UdpChecksumMode.Valid)]
    [TestCase(UdpChecksumMode.Zero)]
    public void CompleteOrAbsentChecksum_IsNotPartial(UdpChecksumMode mode)
    {
        for (int n = 0; n < 200; n++)
        {
            byte[] payload = new byte[n];
            Random.Shared.NextBytes(payload);
            byte[] p = TestPackets.Build(new PacketSpec { Checksum = mode, Payload = payload });
            // A genuine checksum equal to the pseudo-header sum is possible (then recomputing is harmless): skip it.
            if (mode == UdpChecksumMode.Valid && TestPackets.UdpChecksumField(p) ==
                TestPackets.PseudoHeaderFolded(0x0A000001, 0xE0010203, 8 + n)) continue;
            Assert.That(ChecksumOffload.LooksPartial(p), Is.False);
        }
    }

    [Test]
    public void Fragments_AreNeverPartial()
    {
        byte[] p = TestPackets.Build(new PacketSpec { Checksum = UdpChecksumMode.PartialPseudoHeader, FlagsFragment = 0x2000 });
        Assert.That(ChecksumOffload.LooksPartial(p), Is.False);
    }

    [Test]
    public void NotUdpOrTooShort_IsNotPartial()
    {
        Assert.That(ChecksumOffload.LooksPartial(TestPackets.Build(new PacketSpec { Protocol = 6 })), Is.False);
        Assert.That(ChecksumOffload.LooksPartial(new byte[10]), Is.False);
    }
}
