using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Multicast.Linux.Sockets;

/// <summary>SO_PEERCRED of a connected Unix-domain socket: who is on the other end, as the kernel vouches.</summary>
public static unsafe partial class PeerCredentials
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Ucred { public int Pid; public uint Uid; public uint Gid; }

    private const int SO_PEERCRED = 17;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getsockopt(nint fd, int level, int name, void* value, uint* length);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    public static uint EffectiveUserId => geteuid();

    public static (int Pid, uint Uid) Get(Socket socket)
    {
        Ucred cred;
        uint length = (uint)sizeof(Ucred);
        if (getsockopt(socket.Handle, Libc.SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
            SocketOps.Fail("getsockopt(SO_PEERCRED)", Marshal.GetLastPInvokeError());
        return (cred.Pid, cred.Uid);
    }
}
