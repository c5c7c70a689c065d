namespace Multicast.Core.Filters;

/// <summary>
/// Builds the classic-BPF programs attached to capture sockets, so the kernel hands user space only the packets the
/// proxy acts on (a packet socket bound to ETH_P_ALL otherwise receives a clone of every frame).
/// Programs avoid long jumps: each address test is "jeq a, 0, 1; ret accept", so any list fits the 8-bit offsets.
/// </summary>
public static class BpfFilterBuilder
{
    /// <summary>Kernel limit BPF_MAXINSNS.</summary>
    public const int MaxInstructions = 4096;
    public const uint AcceptLength = 262144;

    private const uint AncillaryBase = 0xFFFFF000;          // SKF_AD_OFF (-0x1000)
    private const uint AncillaryProtocol = AncillaryBase + 0; // SKF_AD_PROTOCOL
    private const uint AncillaryPacketType = AncillaryBase + 4; // SKF_AD_PKTTYPE

    public const uint PacketHost = 0;      // PACKET_HOST
    public const uint PacketOutgoing = 4;  // PACKET_OUTGOING
    private const uint EtherTypeIpv4 = 0x0800;
    private const uint ProtocolUdp = 17;

    /// <summary>
    /// Server capture: IPv4/UDP frames this host sends (PACKET_OUTGOING) whose destination is a configured group.
    /// With more groups than fit, it accepts all of 224.0.0.0/4 and every broadcast-style address (last octet 255) and
    /// leaves the lookup to user space.
    /// </summary>
    /// <param name="linkHeaderLength">0 when the socket delivers the network header first (SOCK_DGRAM), 14 for Ethernet.</param>
    public static BpfInstruction[] ServerCapture(IReadOnlyCollection<uint> groups, int linkHeaderLength)
    {
        var p = new List<BpfInstruction>();
        RequireEqual(p, AncillaryPacketType, BpfInstruction.LoadWordAbsolute, PacketOutgoing);
        RequireEqual(p, AncillaryProtocol, BpfInstruction.LoadHalfAbsolute, EtherTypeIpv4);
        RequireEqual(p, (uint)linkHeaderLength + 9, BpfInstruction.LoadByteAbsolute, ProtocolUdp);
        p.Add(new(BpfInstruction.LoadWordAbsolute, 0, 0, (uint)linkHeaderLength + 16));
        if (p.Count + groups.Count * 2 + 1 <= MaxInstructions)
        {
            foreach (uint g in groups) AcceptIfEqual(p, g);
        }
        else
        {
            // Superset of every address ServerConfig accepts as a group (224/4, or last octet 255 for the limited and
            // subnet-directed broadcasts), so no configured group is lost; user space drops the rest as "no group".
            p.Add(new(BpfInstruction.AndConstant, 0, 0, 0xF0000000));
            AcceptIfEqual(p, 0xE0000000);
            p.Add(new(BpfInstruction.LoadWordAbsolute, 0, 0, (uint)linkHeaderLength + 16));
            p.Add(new(BpfInstruction.AndConstant, 0, 0, 0x000000FF));
            AcceptIfEqual(p, 0x000000FF);
        }
        p.Add(new(BpfInstruction.Return, 0, 0, 0));
        return p.ToArray();
    }

    /// <summary>
    /// Client capture: IPv4/UDP frames addressed to this host, TOS = the proxy marker, from a configured server.
    /// </summary>
    /// <param name="fragmentsOnly">
    /// Only fragments (MF set or a non-zero offset): the kernel delivers whole datagrams itself (nftables ingress
    /// rewrite), so user space must neither see nor deliver them a second time.
    /// </param>
    public static BpfInstruction[] ClientCapture(IReadOnlyCollection<uint> servers, byte markerTos, int linkHeaderLength, bool fragmentsOnly = false)
    {
        var p = new List<BpfInstruction>();
        RequireEqual(p, AncillaryPacketType, BpfInstruction.LoadWordAbsolute, PacketHost);
        RequireEqual(p, AncillaryProtocol, BpfInstruction.LoadHalfAbsolute, EtherTypeIpv4);
        RequireEqual(p, (uint)linkHeaderLength + 1, BpfInstruction.LoadByteAbsolute, markerTos);
        RequireEqual(p, (uint)linkHeaderLength + 9, BpfInstruction.LoadByteAbsolute, ProtocolUdp);
        if (fragmentsOnly)
        {
            p.Add(new(BpfInstruction.LoadHalfAbsolute, 0, 0, (uint)linkHeaderLength + 6));
            p.Add(new(BpfInstruction.AndConstant, 0, 0, 0x3FFF)); // MF + fragment offset
            p.Add(new(BpfInstruction.JumpIfEqual, 0, 1, 0));
            p.Add(new(BpfInstruction.Return, 0, 0, 0));
        }
        p.Add(new(BpfInstruction.LoadWordAbsolute, 0, 0, (uint)linkHeaderLength + 12));
        if (p.Count + servers.Count * 2 + 1 > MaxInstructions)
            throw new ArgumentException($"{servers.Count} servers do not fit one BPF program");
        foreach (uint s in servers) AcceptIfEqual(p, s);
        p.Add(new(BpfInstruction.Return, 0, 0, 0));
        return p.ToArray();
    }

    private static void RequireEqual(List<BpfInstruction> p, uint offset, ushort load, uint value)
    {
        p.Add(new(load, 0, 0, offset));
        p.Add(new(BpfInstruction.JumpIfEqual, 1, 0, value));
        p.Add(new(BpfInstruction.Return, 0, 0, 0));
    }

    private static void AcceptIfEqual(List<BpfInstruction> p, uint value)
    {
        p.Add(new(BpfInstruction.JumpIfEqual, 0, 1, value));
        p.Add(new(BpfInstruction.Return, 0, 0, AcceptLength));
    }

    /// <summary>
    /// Runs a program over a packet the way the kernel would (only the opcodes built here), for tests and for
    /// engines that cannot attach filters in the kernel.
    /// </summary>
    public static uint Run(ReadOnlySpan<BpfInstruction> program, ReadOnlySpan<byte> packet, uint packetType, ushort protocol)
    {
        uint a = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            BpfInstruction i = program[pc];
            switch (i.Code)
            {
                case BpfInstruction.LoadWordAbsolute:
                case BpfInstruction.LoadHalfAbsolute:
                case BpfInstruction.LoadByteAbsolute:
                    if (i.K == AncillaryPacketType) { a = packetType; break; }
                    if (i.K == AncillaryProtocol) { a = protocol; break; }
                    int size = i.Code == BpfInstruction.LoadWordAbsolute ? 4 : i.Code == BpfInstruction.LoadHalfAbsolute ? 2 : 1;
                    if (i.K + size > packet.Length) return 0; // the kernel rejects out-of-bounds loads the same way
                    a = 0;
                    for (int b = 0; b < size; b++) a = a << 8 | packet[(int)i.K + b];
                    break;
                case BpfInstruction.AndConstant: a &= i.K; break;
                case BpfInstruction.JumpIfEqual: pc += a == i.K ? i.JumpTrue : i.JumpFalse; break;
                case BpfInstruction.Return: return i.K;
                default: throw new InvalidOperationException($"opcode 0x{i.Code:x2} not supported by the interpreter");
            }
        }
        return 0;
    }
}
