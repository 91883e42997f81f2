"""HTTP/1.1 over a socket that is already connected (a socketpair end), for the image
proxy's Python clients."""

import http.client


class SocketConnection(http.client.HTTPConnection):
    """An HTTPConnection that never connects: it talks on `sock`."""

    def __init__(self, sock):
        super().__init__("localhost")
        self.sock = sock

    def connect(self):
        pass
