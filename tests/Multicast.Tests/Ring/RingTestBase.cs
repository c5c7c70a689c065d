using NUnit.Framework;
using System.Net;
using System.Net.Sockets;
using Multicast.Core.Packets;

namespace Multicast.Tests.Ring;

/// <summary>Creates the namespace pair once per fixture and always deletes it.</summary>
public abstract class RingTestBase
{
    protected NetnsPair Net = null!;

    [OneTimeSetUp]
    public void CreateNamespaces()
    {
        if (Environment.UserName != "root" && !File.Exists("/proc/self/ns/net"))
            Assert.Ignore("needs root and network namespaces");
        Net = new NetnsPair();
    }

    [OneTimeTearDown]
    public void DeleteNamespaces() => Net?.Dispose();

    protected static Socket UdpReceiver(ushort port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Any, port));
        s.ReceiveTimeout = 3000;
        return s;
    }

    protected static Socket MulticastSender(uint interfaceAddress)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IpAddressV4.ToIPAddress(interfaceAddress).GetAddressBytes());
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, false);
        s.Bind(new IPEndPoint(IpAddressV4.ToIPAddress(interfaceAddress), 0));
        return s;
    }

    /// <summary>Receives datagrams until <paramref name="count"/> arrived or nothing came for the socket's timeout.</summary>
    protected static List<(byte[] Data, IPEndPoint From)> ReceiveUpTo(Socket s, int count)
    {
        var result = new List<(byte[], IPEndPoint)>();
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (result.Count < count)
            {
                int n = s.ReceiveFrom(buffer, ref from);
                result.Add((buffer[..n], (IPEndPoint)from));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut) { }
        return result;
    }
}
