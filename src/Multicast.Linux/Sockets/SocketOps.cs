using System.Buffers.Binary;
using Multicast.Core.Filters;

namespace Multicast.Linux.Sockets;

/// <summary>Socket setup steps, each checked, each failing with a message that says which step failed and why.</summary>
internal static unsafe class SocketOps
{
    public static int Open(int domain, int type, int protocol, string what)
    {
        int fd = Libc.socket(domain, type | Libc.SOCK_CLOEXEC, protocol);
        if (fd < 0) Fail($"socket({what})", Libc.LastError);
        return fd;
    }

    public static void SetInt(int fd, int level, int option, int value, string what)
    {
        if (Libc.setsockopt(fd, level, option, &value, sizeof(int)) != 0) Fail($"setsockopt({what})", Libc.LastError);
    }

    public static bool TrySetInt(int fd, int level, int option, int value) =>
        Libc.setsockopt(fd, level, option, &value, sizeof(int)) == 0;

    /// <summary>An int option's value, or 0 if the kernel will not say.</summary>
    public static int GetInt(int fd, int level, int option)
    {
        int value = 0;
        uint length = sizeof(int);
        return Libc.getsockopt(fd, level, option, &value, &length) == 0 ? value : 0;
    }

    public static void SetReceiveTimeout(int fd, TimeSpan timeout)
    {
        var tv = new Timeval { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Microseconds + timeout.Milliseconds * 1000 };
        if (Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &tv, (uint)sizeof(Timeval)) != 0)
            Fail("setsockopt(SO_RCVTIMEO)", Libc.LastError);
    }

    /// <summary>Large socket buffers absorb bursts; FORCE needs CAP_NET_ADMIN, the plain option is the fallback.</summary>
    public static void SetBuffer(int fd, bool receive, int bytes)
    {
        if (TrySetInt(fd, Libc.SOL_SOCKET, receive ? Libc.SO_RCVBUFFORCE : Libc.SO_SNDBUFFORCE, bytes)) return;
        SetInt(fd, Libc.SOL_SOCKET, receive ? Libc.SO_RCVBUF : Libc.SO_SNDBUF, bytes, receive ? "SO_RCVBUF" : "SO_SNDBUF");
    }

    /// <summary>Attaches (or atomically replaces) a classic-BPF program.</summary>
    public static void AttachFilter(int fd, BpfInstruction[] program)
    {
        fixed (BpfInstruction* p = program)
        {
            var prog = new SockFprog { Length = (ushort)program.Length, Filter = p };
            if (Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_ATTACH_FILTER, &prog, (uint)sizeof(SockFprog)) != 0)
                Fail("setsockopt(SO_ATTACH_FILTER)", Libc.LastError);
        }
    }

    public static void BindPacket(int fd, int ifIndex, ushort protocol, string interfaceName)
    {
        var sll = new SockaddrLl
        {
            Family = Libc.AF_PACKET,
            Protocol = BinaryPrimitives.ReverseEndianness(protocol),
            IfIndex = ifIndex,
        };
        if (Libc.bind(fd, &sll, (uint)sizeof(SockaddrLl)) != 0) Fail($"bind(AF_PACKET, {interfaceName})", Libc.LastError);
    }

    public static void BindToDevice(int fd, string interfaceName)
    {
        byte[] name = System.Text.Encoding.ASCII.GetBytes(interfaceName + "\0");
        fixed (byte* p = name)
            if (Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_BINDTODEVICE, p, (uint)name.Length) != 0)
                Fail($"setsockopt(SO_BINDTODEVICE, {interfaceName})", Libc.LastError);
    }

    public static int InterfaceIndex(string interfaceName)
    {
        int index = InterfaceLookup.IndexOf(interfaceName);
        if (index == 0) throw new InvalidOperationException($"interface {interfaceName} does not exist");
        return index;
    }

    public static void Close(ref int fd)
    {
        if (fd >= 0) Libc.close(fd);
        fd = -1;
    }

    public static void Fail(string what, int errno)
    {
        string hint = errno is Libc.EPERM or Libc.EACCES ? " — run as root or grant CAP_NET_RAW and CAP_NET_ADMIN" : "";
        throw new InvalidOperationException($"{what} failed: {Libc.Describe(errno)}{hint}");
    }
}
