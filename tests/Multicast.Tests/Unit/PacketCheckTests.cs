using Multicast.Core.DataPlane;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

public sealed class PacketCheckTests
{
    [TestCase(new byte[] { 1, 1, 1, 0 }, true, TestName = "NOPs then end of list")]
    [TestCase(new byte[] { 0x94, 4, 0, 0 }, true, TestName = "router alert")]
    [TestCase(new byte[] { 0x07, 7, 4, 0, 0, 0, 0, 0 }, true, TestName = "record route")]
    [TestCase(new byte[] { 0x07, 9, 4, 0 }, false, TestName = "length runs past the header")]
    [TestCase(new byte[] { 0x07, 1, 0, 0 }, false, TestName = "length below 2")]
    [TestCase(new byte[] { 1, 1, 1, 0x44 }, false, TestName = "option type without length byte")]
    [TestCase(new byte[] { 0x83, 7, 4, 10, 0, 0, 1, 0 }, false, TestName = "loose source route refused")]
    [TestCase(new byte[] { 0x89, 7, 4, 10, 0, 0, 1, 0 }, false, TestName = "strict source route refused")]
    public void OptionsAreCarriedOnlyWhenWellFormed(byte[] options, bool accepted)
    {
        Assert.That(PacketCheck.OptionsWellFormed(options), Is.EqualTo(accepted));
        byte[] packet = TestPackets.Build(new PacketSpec { Destination = 0xE0010203, Options = options, Payload = new byte[16] });
        Assert.That(PacketCheck.Check(packet, out _), Is.EqualTo(accepted ? PacketVerdict.Ok : PacketVerdict.Malformed));
    }
}
