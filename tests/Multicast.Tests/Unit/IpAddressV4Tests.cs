using NUnit.Framework;
using Multicast.Core.Packets;

namespace Multicast.Tests.Unit;

public class IpAddressV4Tests
{
    [TestCase("0.0.0.0", 0u)]
    [TestCase("1.2.3.4", 0x01020304u)]
    [TestCase("224.1.2.3", 0xE0010203u)]
    [TestCase("255.255.255.255", 0xFFFFFFFFu)]
    [TestCase("192.168.100.200", 0xC0A864C8u)]
    public void ParsesDottedQuads(string text, uint expected)
    {
        Assert.That(IpAddressV4.TryParse(text, out uint a), Is.True);
        Assert.That(a, Is.EqualTo(expected));
        Assert.That(IpAddressV4.Format(a), Is.EqualTo(text));
    }

    [TestCase("")]
    [TestCase("1.2.3")]
    [TestCase("1.2.3.4.5")]
    [TestCase("256.1.1.1")]
    [TestCase("1.2.3.256")]
    [TestCase(" 1.2.3.4")]
    [TestCase("1.2.3.4 ")]
    [TestCase("01234.1.1.1")]
    [TestCase("010.1.1.1")]
    [TestCase("1.2.3.00")]
    [TestCase("1..2.3")]
    [TestCase(".1.2.3")]
    [TestCase("1.2.3.")]
    [TestCase("1.2.3.4.")]
    [TestCase("...")]
    [TestCase("1.2.3.-4")]
    [TestCase("+1.2.3.4")]
    [TestCase("0x1.2.3.4")]
    [TestCase("1.2.3.4/24")]
    [TestCase("１.2.3.4")]
    [TestCase("999.999.999.999")]
    public void RejectsAnythingElse(string text)
    {
        Assert.That(IpAddressV4.TryParse(text, out _), Is.False);
        Assert.Throws<FormatException>(() => IpAddressV4.Parse(text));
    }

    [Test]
    public void AgreesWithSystemParserOnRandomAddresses()
    {
        var r = new Random(40);
        for (int n = 0; n < 10_000; n++)
        {
            uint a = (uint)r.NextInt64(0, 1L << 32);
            string text = IpAddressV4.Format(a);
            Assert.That(IpAddressV4.TryParse(text, out uint parsed) && parsed == a, Is.True, text);
            Assert.That(IpAddressV4.FromIPAddress(System.Net.IPAddress.Parse(text)), Is.EqualTo(a));
            Assert.That(IpAddressV4.ToIPAddress(a).ToString(), Is.EqualTo(text));
        }
    }
}
