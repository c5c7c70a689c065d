using NUnit.Framework;
using Multicast.Core.Filters;
using static Multicast.Tests.Unit.TestPackets;

namespace Multicast.Tests.Unit;

public class BpfFilterTests
{
    private const uint Outgoing = BpfFilterBuilder.PacketOutgoing;
    private const uint Host = BpfFilterBuilder.PacketHost;
    private const ushort EtherIpv4 = 0x0800;
    private static readonly uint[] Groups = [0xE0010203, 0xEF000001, 0xC0A801FF]; // 224.1.2.3, 239.0.0.1, 192.168.1.255
    private static readonly uint[] Servers = [0x0A000001, 0x0A000002];

    private static byte[] Frame(int linkHeaderLength, PacketSpec spec)
    {
        byte[] ip = Build(spec);
        var frame = new byte[linkHeaderLength + ip.Length];
        if (linkHeaderLength == 14) { frame[12] = 0x08; frame[13] = 0x00; }
        ip.CopyTo(frame, linkHeaderLength);
        return frame;
    }

    /// <summary>What the kernel's sk_chk_filter demands of a classic program, and the size limit.</summary>
    private static void AssertLoadable(BpfInstruction[] program)
    {
        Assert.That(program.Length, Is.InRange(1, BpfFilterBuilder.MaxInstructions));
        Assert.That(program[^1].Code, Is.EqualTo(BpfInstruction.Return), "a program must end in a return");
        for (int i = 0; i < program.Length; i++)
        {
            BpfInstruction ins = program[i];
            if (ins.Code != BpfInstruction.JumpIfEqual) continue;
            Assert.That(i + 1 + ins.JumpTrue, Is.LessThan(program.Length), $"jt of instruction {i} leaves the program");
            Assert.That(i + 1 + ins.JumpFalse, Is.LessThan(program.Length), $"jf of instruction {i} leaves the program");
        }
    }

    [Test]
    public void ServerAcceptsOwnUdpToConfiguredGroups([Values(0, 14)] int link, [Values(0, 4, 40)] int optionBytes)
    {
        BpfInstruction[] p = BpfFilterBuilder.ServerCapture(Groups, link);
        AssertLoadable(p);
        foreach (uint g in Groups)
        {
            byte[] f = Frame(link, new PacketSpec { Destination = g, Options = new byte[optionBytes] });
            Assert.That(BpfFilterBuilder.Run(p, f, Outgoing, EtherIpv4), Is.Not.Zero, $"group {g:x8}");
        }
    }

    [Test]
    public void ServerRejectsIncomingNonUdpNonIpAndOtherDestinations([Values(0, 14)] int link)
    {
        BpfInstruction[] p = BpfFilterBuilder.ServerCapture(Groups, link);
        var toGroup = new PacketSpec { Destination = Groups[0] };
        Assert.Multiple(() =>
        {
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup), Host, EtherIpv4), Is.Zero, "incoming");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup), Outgoing, 0x0806), Is.Zero, "not IPv4");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup with { Protocol = 6 }), Outgoing, EtherIpv4), Is.Zero, "TCP");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup with { Destination = 0xE0010204 }), Outgoing, EtherIpv4), Is.Zero, "other group");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup with { Destination = 0x0A000009 }), Outgoing, EtherIpv4), Is.Zero, "unicast (our own copies)");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, toGroup)[..(link + 12)], Outgoing, EtherIpv4), Is.Zero, "truncated");
        });
    }

    [Test]
    public void ServerWithTooManyGroupsFallsBackToAllMulticastAndBroadcast([Values(0, 14)] int link)
    {
        var groups = new List<uint>();
        for (uint i = 0; i < 3000; i++) groups.Add(0xE0000000 + i * 7919);
        groups.Add(0xC0A801FF);      // a subnet broadcast the user configured as a group
        groups.Add(0xFFFFFFFF);
        BpfInstruction[] p = BpfFilterBuilder.ServerCapture(groups, link);
        AssertLoadable(p);

        foreach (uint g in groups)
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, new PacketSpec { Destination = g }), Outgoing, EtherIpv4), Is.Not.Zero,
                $"configured group {g:x8} must still be captured");
        Assert.That(BpfFilterBuilder.Run(p, Frame(link, new PacketSpec { Destination = 0xEFFFFFFE }), Outgoing, EtherIpv4), Is.Not.Zero, "224/4");
        Assert.That(BpfFilterBuilder.Run(p, Frame(link, new PacketSpec { Destination = 0x0A000009 }), Outgoing, EtherIpv4), Is.Zero, "unicast");
        Assert.That(BpfFilterBuilder.Run(p, Frame(link, new PacketSpec { Destination = 0xF0000001 }), Outgoing, EtherIpv4), Is.Zero, "240/4");
        Assert.That(BpfFilterBuilder.Run(p, Frame(link, new PacketSpec { Destination = 0xE0000001, Protocol = 6 }), Outgoing, EtherIpv4), Is.Zero, "TCP");
    }

    [Test]
    public void ServerProgramSizeStaysWithinTheLimitAtEveryGroupCount()
    {
        var groups = new List<uint>();
        for (int n = 0; n <= 2100; n++)
        {
            AssertLoadable(BpfFilterBuilder.ServerCapture(groups, 14));
            groups.Add(0xE0000000 + (uint)n);
        }
    }

    [Test]
    public void ClientAcceptsOnlyMarkedUdpFromConfiguredServersToThisHost([Values(0, 14)] int link, [Values(0, 12)] int optionBytes)
    {
        BpfInstruction[] p = BpfFilterBuilder.ClientCapture(Servers, 0xE0, link);
        AssertLoadable(p);
        var copy = new PacketSpec { Source = Servers[1], Destination = 0x0A000064, Tos = 0xE0, Options = new byte[optionBytes] };
        Assert.Multiple(() =>
        {
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy), Host, EtherIpv4), Is.Not.Zero, "marked copy");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { Source = Servers[0] }), Host, EtherIpv4), Is.Not.Zero, "first server");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy), Outgoing, EtherIpv4), Is.Zero, "our own send");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy), 1, EtherIpv4), Is.Zero, "broadcast frame");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { Tos = 0 }), Host, EtherIpv4), Is.Zero, "unmarked");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { Tos = 0xE1 }), Host, EtherIpv4), Is.Zero, "marker plus ECN");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { Protocol = 6 }), Host, EtherIpv4), Is.Zero, "TCP");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { Source = 0x0A000003 }), Host, EtherIpv4), Is.Zero, "unknown server");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy), Host, 0x86DD), Is.Zero, "not IPv4");
        });
    }

    [Test]
    public void ClientFragmentsOnly_AcceptsFirstAndLaterFragments_NotWholeDatagrams([Values(0, 14)] int link)
    {
        BpfInstruction[] p = BpfFilterBuilder.ClientCapture(Servers, 0xE0, link, fragmentsOnly: true);
        AssertLoadable(p);
        var copy = new PacketSpec { Source = Servers[0], Destination = 0x0A000064, Tos = 0xE0 };
        Assert.Multiple(() =>
        {
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy), Host, EtherIpv4), Is.Zero, "whole datagram, DF");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0 }), Host, EtherIpv4), Is.Zero, "whole datagram");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0x2000 }), Host, EtherIpv4), Is.Not.Zero, "first fragment (MF)");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0x0064 }), Host, EtherIpv4), Is.Not.Zero, "last fragment");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0x2064 }), Host, EtherIpv4), Is.Not.Zero, "middle fragment");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0x2000, Tos = 0 }), Host, EtherIpv4), Is.Zero, "unmarked fragment");
            Assert.That(BpfFilterBuilder.Run(p, Frame(link, copy with { FlagsFragment = 0x2000, Source = 0x0A000003 }), Host, EtherIpv4), Is.Zero, "fragment from an unknown server");
        });
    }

    [Test]
    public void ClientProgramEitherFitsOrIsRefused()
    {
        var servers = new List<uint>();
        for (uint i = 1; i <= 2000; i++) servers.Add(0x0A000000 + i);
        AssertLoadable(BpfFilterBuilder.ClientCapture(servers, 0xE0, 14));
        for (uint i = 2001; i <= 3000; i++) servers.Add(0x0A000000 + i);
        Assert.Throws<ArgumentException>(() => BpfFilterBuilder.ClientCapture(servers, 0xE0, 14));
    }
}
