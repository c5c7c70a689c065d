using System.Runtime.InteropServices;

namespace Multicast.Linux.Sockets;

/// <summary>The few libc calls Tmds.LibC does not bind (batched socket I/O, interface lookup, error text).</summary>
internal static unsafe partial class Libc
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, Mmsghdr* msgvec, uint vlen, int flags, void* timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long recvmsg(int fd, Msghdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sendmmsg(int fd, Mmsghdr* msgvec, uint vlen, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, void* address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    public const int EINTR = 4, EAGAIN = 11, ENOBUFS = 105, EPERM = 1, EACCES = 13, EMSGSIZE = 90, ENETDOWN = 100;
    public const int AF_INET = 2, AF_PACKET = 17;
    public const int SOCK_RAW = 3, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const int IPPROTO_IP = 0, IPPROTO_RAW = 255;
    public const int SOL_SOCKET = 1, SOL_PACKET = 263;
    public const int SO_RCVBUF = 8, SO_SNDBUF = 7, SO_RCVTIMEO = 20, SO_ATTACH_FILTER = 26, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    /// <summary>Also the type of the SCM_TIMESTAMPNS control message (a timespec of two 64-bit fields on 64-bit Linux).</summary>
    public const int SO_TIMESTAMPNS = 35;
    public const int SO_BINDTODEVICE = 25;
    public const int IP_MULTICAST_IF = 32, IP_MULTICAST_LOOP = 34;
    public const int PACKET_AUXDATA = 8, PACKET_STATISTICS = 6, PACKET_IGNORE_OUTGOING = 23;
    public const int MSG_WAITFORONE = 0x10000, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40;
    public const ushort ETH_P_ALL = 0x0003;
    public const uint TP_STATUS_CSUMNOTREADY = 1 << 3;
}

/// <summary>struct sock_fprog.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockFprog
{
    public ushort Length;
    public void* Filter;
}

/// <summary>struct timeval (64-bit Linux).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timeval
{
    public long Seconds;
    public long Microseconds;
}

/// <summary>struct timespec (64-bit Linux).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>struct sockaddr_ll.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockaddrLl
{
    public ushort Family;
    public ushort Protocol;     // network byte order
    public int IfIndex;
    public ushort HaType;
    public byte PacketType;
    public byte HaLength;
    public fixed byte Address[8];
}

/// <summary>struct sockaddr_in.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockaddrIn
{
    public ushort Family;
    public ushort Port;          // network byte order
    public uint Address;         // network byte order
    public ulong Zero;
}

/// <summary>struct ip_mreqn.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IpMreqn
{
    public uint MulticastAddress;
    public uint InterfaceAddress;
    public int IfIndex;
}

/// <summary>struct tpacket_auxdata: what the kernel knows about a packet-socket frame, delivered as a cmsg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TpacketAuxdata
{
    public uint Status;
    public uint Length;
    public uint SnapLength;
    public ushort Mac;
    public ushort Net;
    public ushort VlanTci;
    public ushort VlanTpid;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Iovec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (64-bit Linux).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Msghdr
{
    public void* Name;
    public uint NameLength;
    public Iovec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Mmsghdr
{
    public Msghdr Header;
    public uint Length;
}
