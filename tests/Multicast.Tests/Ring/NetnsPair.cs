using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Multicast.Core.Packets;

namespace Multicast.Tests.Ring;

/// <summary>
/// Two throw-away network namespaces joined by a veth pair: A (mcra0, 10.201.0.1/24, plus 10.202.0.0/24 routed via B)
/// and B (mcrb0, 10.201.0.2/24). Code runs "inside" a namespace by moving the calling thread there with setns and
/// back afterwards; sockets keep the namespace they were created in, so rings and engines built inside keep working
/// from any thread. Always deleted on Dispose.
/// </summary>
public sealed class NetnsPair : IDisposable
{
    public const string IfA = "mcra0";
    public const string IfB = "mcrb0";
    public static readonly uint AddrA = IpAddressV4.Parse("10.201.0.1");
    public static readonly uint AddrB = IpAddressV4.Parse("10.201.0.2");
    /// <summary>A destination in A's table that is routed through B as the gateway.</summary>
    public static readonly uint RoutedDestination = IpAddressV4.Parse("10.202.0.7");

    private const int CloneNewNet = 0x40000000;

    public string NsA { get; }
    public string NsB { get; }

    public NetnsPair()
    {
        string tag = Random.Shared.Next(0x100000, 0xFFFFFF).ToString("x6");
        NsA = $"mcr{tag}a";
        NsB = $"mcr{tag}b";
        try
        {
            Ip($"netns add {NsA}");
            Ip($"netns add {NsB}");
            Ip($"-n {NsA} link add {IfA} type veth peer name {IfB} netns {NsB}");
            Ip($"-n {NsA} addr add 10.201.0.1/24 dev {IfA}");
            Ip($"-n {NsB} addr add 10.201.0.2/24 dev {IfB}");
            Ip($"-n {NsA} link set lo up");
            Ip($"-n {NsB} link set lo up");
            Ip($"-n {NsA} link set {IfA} up");
            Ip($"-n {NsB} link set {IfB} up");
            Ip($"-n {NsA} route add 10.202.0.0/24 via 10.201.0.2");
            Ip($"-n {NsA} route add 224.0.0.0/4 dev {IfA}");
            Ip($"-n {NsB} route add 224.0.0.0/4 dev {IfB}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Forgets A's neighbours, so the next send to B has to resolve it again.</summary>
    public void FlushNeighboursOfA() => Ip($"-n {NsA} neigh flush dev {IfA}");

    public T InA<T>(Func<T> action) => In(NsA, action);
    public T InB<T>(Func<T> action) => In(NsB, action);
    public void InA(Action action) => In(NsA, () => { action(); return 0; });
    public void InB(Action action) => In(NsB, () => { action(); return 0; });

    private static T In<T>(string ns, Func<T> action)
    {
        using SafeFileHandle original = File.OpenHandle("/proc/thread-self/ns/net");
        using SafeFileHandle target = File.OpenHandle($"/var/run/netns/{ns}");
        if (setns((int)target.DangerousGetHandle(), CloneNewNet) != 0)
            throw new InvalidOperationException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            return action();
        }
        finally
        {
            // A thread left in the test namespace would leak it into unrelated tests: that is not recoverable.
            if (setns((int)original.DangerousGetHandle(), CloneNewNet) != 0)
                Environment.FailFast("setns back to the original network namespace failed");
        }
    }

    public static string Ip(string arguments)
    {
        var psi = new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {arguments}: {error.Trim()}");
        return output;
    }

    public void Dispose()
    {
        foreach (string ns in new[] { NsA, NsB })
        {
            if (ns is null) continue;
            try { Ip($"netns del {ns}"); } catch (InvalidOperationException) { /* never created */ }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);
}
