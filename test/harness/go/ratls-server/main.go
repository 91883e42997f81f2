// A test RA-TLS registry front that speaks islet's wire format: TLS 1.3, a fresh 64-byte
// nonce per handshake sent as the raw base64 ASCII single entry of the CertificateRequest's
// certificate_authorities, a client certificate whose extension 1.3.3.3.7 holds a CCA
// token checked as islet's server checks it, then the distribution API proxied to a
// registry. Standard library only: Debian's golang-go builds it offline.
package main

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

var tokenExtension = asn1.ObjectIdentifier{1, 3, 3, 3, 7}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	certFile := flag.String("cert", "", "server certificate (PEM)")
	keyFile := flag.String("key", "", "server key (PEM)")
	upstream := flag.String("upstream", "", "registry to proxy to (http://host:port)")
	referenceFile := flag.String("reference", "", "reference values (JSON)")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	var ref Reference
	raw, err := os.ReadFile(*referenceFile)
	if err == nil {
		err = json.Unmarshal(raw, &ref)
	}
	if err != nil {
		log.Fatalf("reference values: %v", err)
	}
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}

	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return connectionConfig(base, ref)
	}
	listener, err := tls.Listen("tcp", *listen, base)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", listener.Addr())
	proxy := httputil.NewSingleHostReverseProxy(target)
	server := &http.Server{Handler: proxy, ErrorLog: log.New(os.Stderr, "http: ", 0)}
	log.Fatal(server.Serve(listener))
}

// connectionConfig is one handshake's configuration: its own nonce, as the CA "name".
func connectionConfig(base *tls.Config, ref Reference) (*tls.Config, error) {
	nonce := make([]byte, 64)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	b64 := []byte(base64.StdEncoding.EncodeToString(nonce))
	pool := x509.NewCertPool()
	// The pool hands RawSubject to the CertificateRequest as it is: the base64 nonce.
	pool.AddCert(&x509.Certificate{Raw: b64, RawSubject: b64})
	config := base.Clone()
	config.GetConfigForClient = nil
	config.ClientCAs = pool
	config.ClientAuth = tls.RequireAnyClientCert
	config.VerifyPeerCertificate = func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		err := verifyClient(rawCerts, nonce, ref)
		if err != nil {
			log.Printf("attestation refused: %v", err)
		} else {
			log.Printf("attestation accepted")
		}
		return err
	}
	return config, nil
}

func verifyClient(rawCerts [][]byte, nonce []byte, ref Reference) error {
	if len(rawCerts) == 0 {
		return errors.New("no client certificate")
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return fmt.Errorf("client certificate: %v", err)
	}
	var token []byte
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(tokenExtension) {
			token = ext.Value
		}
	}
	if token == nil {
		return errors.New("client certificate carries no token (extension 1.3.3.3.7)")
	}
	h := sha512.New()
	h.Write(nonce)
	h.Write(cert.RawSubjectPublicKeyInfo)
	return verifyToken(token, h.Sum(nil), ref)
}
