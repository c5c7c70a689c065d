using System.Runtime.InteropServices;

namespace Multicast.Linux.Ring;

// Mirrors of the structs in native/mcshim.h; field order and sizes must match.

[StructLayout(LayoutKind.Sequential)]
internal struct ShimRxStats
{
    public ulong Packets;
    public ulong Drops;
}

[StructLayout(LayoutKind.Sequential)]
public struct TxRingStats
{
    public ulong Queued;
    public ulong Kicks;
    public ulong KickAgain;
    public ulong KickNoBuffers;
    public ulong KickErrors;
    public ulong RingFull;
    public ulong WrongFormat;
    public int LastErrno;
    private int _reserved;
}

[StructLayout(LayoutKind.Sequential)]
internal struct ShimRoute
{
    public uint Gateway;  // network order
    public uint PreferredSource;
    public int OutputInterface;
    public byte Type;
    private byte _r0, _r1, _r2;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ShimNftCounter
{
    public fixed byte Comment[64]; // NUL-terminated
    public ulong Packets;
    public ulong Bytes;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ShimNeighbour
{
    public uint Ip;       // network order
    public ushort State;
    public byte MacLength;
    private byte _reserved;
    public fixed byte Mac[8];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ShimInterface
{
    public int Index;
    public int Mtu;
    public fixed byte Mac[8];
    public byte MacLength;
    private fixed byte _reserved[7];
}
