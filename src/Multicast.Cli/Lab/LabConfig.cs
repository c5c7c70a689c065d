using System.Net;
using System.Text.Json.Nodes;

namespace Multicast.Cli.Lab;

/// <summary>The daemons' configuration files, in the schema of the seed manual.</summary>
public static class LabConfig
{
    public static string Server(IPAddress group, int groupPort, int serverPort, IEnumerable<IPAddress> members) =>
        Server([(group, groupPort, serverPort, members)]);

    public static string Server(IEnumerable<(IPAddress Group, int GroupPort, int ServerPort, IEnumerable<IPAddress> Members)> groups)
    {
        var array = new JsonArray();
        foreach (var g in groups)
        {
            var members = new JsonArray();
            foreach (IPAddress m in g.Members) members.Add(m.ToString());
            array.Add(new JsonObject
            {
                ["group_ip"] = g.Group.ToString(), ["group_port"] = g.GroupPort, ["server_port"] = g.ServerPort, ["member_array"] = members,
            });
        }
        return new JsonObject { ["multi_group_array"] = array }.ToJsonString();
    }

    /// <param name="serverPort">Destination port of the copies; 0 = any port.</param>
    public static string Client(IPAddress serverIp, int serverPort, IPAddress group, int groupPort) =>
        new JsonObject
        {
            ["multi_server_info_array"] = new JsonArray
            {
                new JsonObject
                {
                    ["server_ip"] = serverIp.ToString(), ["server_port"] = serverPort, ["group_ip"] = group.ToString(), ["group_port"] = groupPort,
                },
            },
        }.ToJsonString();
}
