using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Multicast.Core.Packets;
using NUnit.Framework;

namespace Multicast.Tests.Pcap;

/// <summary>
/// Two throw-away namespaces (mcp&lt;random&gt;a/b) joined by a veth pair: A = mcpa0 10.203.0.1/24 (the proxy's host),
/// B = mcpb0 10.203.0.2/24 (a member). Nothing is routed outside them. Deleted on Dispose, whatever happened.
/// Code runs "in" a namespace by moving the calling thread there (setns) and back; sockets and pcap handles keep
/// the namespace they were opened in.
/// </summary>
public sealed partial class PcapNetns : IDisposable
{
    public const string IfA = "mcpa0", IfB = "mcpb0";
    public static readonly uint AddrA = IpAddressV4.Parse("10.203.0.1");
    public static readonly uint AddrB = IpAddressV4.Parse("10.203.0.2");
    /// <summary>On-link in A, owned by nobody: ARP never answers.</summary>
    public static readonly uint Unanswered = IpAddressV4.Parse("10.203.0.99");

    public string NsA { get; }
    public string NsB { get; }

    public static void RequireRoot()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("network namespaces are Linux-only");
        if (Environment.UserName != "root" && geteuid() != 0) Assert.Ignore("needs root (network namespaces, veth, pcap)");
    }

    public PcapNetns()
    {
        string tag = Random.Shared.Next(0x100000, 0xFFFFFF).ToString("x6");
        NsA = $"mcp{tag}a";
        NsB = $"mcp{tag}b";
        try
        {
            foreach (string cmd in new[]
            {
                $"netns add {NsA}", $"netns add {NsB}",
                $"-n {NsA} link add {IfA} type veth peer name {IfB} netns {NsB}",
                $"-n {NsA} addr add 10.203.0.1/24 dev {IfA}", $"-n {NsB} addr add 10.203.0.2/24 dev {IfB}",
                $"-n {NsA} link set lo up", $"-n {NsB} link set lo up",
                $"-n {NsA} link set {IfA} up", $"-n {NsB} link set {IfB} up",
                $"-n {NsA} route add 224.0.0.0/4 dev {IfA}",
            })
                Ip(cmd);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public T InA<T>(Func<T> action) => In(NsA, action);
    public T InB<T>(Func<T> action) => In(NsB, action);

    /// <summary>Runs <paramref name="action"/> on a thread moved into network namespace <paramref name="ns"/>.</summary>
    public static T In<T>(string ns, Func<T> action)
    {
        using SafeFileHandle original = File.OpenHandle("/proc/thread-self/ns/net");
        using SafeFileHandle target = File.OpenHandle($"/var/run/netns/{ns}");
        if (setns((int)target.DangerousGetHandle(), 0x40000000) != 0)
            throw new InvalidOperationException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
        try { return action(); }
        finally
        {
            // A pool thread left in a test namespace would silently break unrelated tests.
            if (setns((int)original.DangerousGetHandle(), 0x40000000) != 0)
                Environment.FailFast("setns back to the original network namespace failed");
        }
    }

    private static void Ip(string arguments)
    {
        var psi = new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {arguments}: {error.Trim()}");
    }

    public void Dispose()
    {
        foreach (string? ns in new[] { NsA, NsB })
        {
            if (ns is null) continue;
            try { Ip($"netns del {ns}"); } catch (InvalidOperationException) { }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
