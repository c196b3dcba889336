package pcsim

import "strings"

// plan is one licence product as Partner Center and Entra ID know it.
type plan struct {
	Name          string // display name
	SkuID         string // Entra (AAD) sku id, lower-case = subscribedskus productSku.id = legacy offer.product.id
	SkuPartNumber string
	OfferID       string // legacy CSP offer id; "" = no legacy offer
	Purchasable   bool   // legacy offer still purchasable
	ProductID     string // new-commerce product id; "" = not sold through carts here
	NCESkuID      string
	Availability  string // new-commerce availability id
	Category      string
	Description   string
	MinQuantity   int
	MaxQuantity   int
	ListPrice     float64 // USD per licence per month (public 2022 list prices, as bot/catalog.yaml listPrice); 0 = unknown
	ServicePlans  []servicePlan
}

type servicePlan struct {
	ServiceName string
	ID          string
	DisplayName string
	TargetType  string // "User" or "Tenant"
}

// Service plans, ids from Microsoft's "Product names and service plan identifiers for licensing" CSV
// (reference [CSV]; the four Kaizala plans are listed in partner-center.md §1.3).
var (
	spExchangeP1   = servicePlan{"EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c", "Exchange Online (Plan 1)", "User"}
	spExchangeP2   = servicePlan{"EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0", "Exchange Online (Plan 2)", "User"}
	spExchangeFdn  = servicePlan{"EXCHANGE_S_FOUNDATION", "113feb6c-3fe4-4440-bddc-54d774bf0318", "Exchange Foundation", "Tenant"}
	spSharePointP1 = servicePlan{"SHAREPOINTSTANDARD", "c7699d2e-19aa-44de-8edf-1736da088ca1", "SharePoint (Plan 1)", "User"}
	spSharePointP2 = servicePlan{"SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72", "SharePoint (Plan 2)", "User"}
	spSharePointK  = servicePlan{"SHAREPOINTDESKLESS", "902b47e5-dcb2-4fdc-858b-c63a90a2bdb9", "SharePoint Kiosk", "User"}
	spOfficeWeb    = servicePlan{"SHAREPOINTWAC", "e95bec33-7c88-4a70-8e19-b10bd9d0c014", "Office for the web", "User"}
	spOfficeApps   = servicePlan{"OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38", "Microsoft 365 Apps for enterprise", "User"}
	spTeams        = servicePlan{"TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929", "Microsoft Teams", "User"}
	spSkype        = servicePlan{"MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "Skype for Business Online (Plan 2)", "User"}
	spPlanner      = servicePlan{"PROJECTWORKMANAGEMENT", "b737dad2-2f6c-4c65-90e3-ca563267e8b9", "Microsoft Planner", "User"}
	spSway         = servicePlan{"SWAY", "a23b959c-7ce8-4e57-9140-b90eb88a9e97", "Sway", "User"}
	spYammer       = servicePlan{"YAMMER_ENTERPRISE", "7547a3fe-08ee-4ccb-b430-5077c5041653", "Yammer Enterprise", "User"}
	spIntuneO365   = servicePlan{"INTUNE_O365", "882e1d05-acd1-4ccb-8708-6ee03664b117", "Mobile Device Management for Office 365", "User"}
	spIntuneA      = servicePlan{"INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "Microsoft Intune A Direct", "User"}
	spAADP1        = servicePlan{"AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "Azure Active Directory Premium P1", "User"}
	spMFA          = servicePlan{"MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0", "Microsoft Azure Multi-Factor Authentication", "User"}
	spRMSPremium   = servicePlan{"RMS_S_PREMIUM", "6c57d4b6-3b23-47a5-9bc9-69f17b4947b3", "Azure Information Protection Premium P1", "User"}
	spRMS          = servicePlan{"RMS_S_ENTERPRISE", "bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "Microsoft Azure Active Directory Rights", "User"}
	spKaizalaP1    = servicePlan{"KAIZALA_O365_P1", "73b2a583-6a59-42e3-8e83-54db46bc3278", "Microsoft Kaizala Pro", "User"}
	spKaizalaP2    = servicePlan{"KAIZALA_O365_P2", "54fc630f-5a40-48ee-8965-af0503c1386e", "Microsoft Kaizala Pro", "User"}
	spKaizalaP3    = servicePlan{"KAIZALA_O365_P3", "aebd3021-9f8f-4bf8-bbe3-0ed2f4f047a1", "Microsoft Kaizala Pro", "User"}
	spKaizalaSA    = servicePlan{"KAIZALA_STANDALONE", "0898bdbb-73b0-471a-81e5-20f1fe4dd66e", "Microsoft Kaizala Pro", "User"}
)

const (
	// Business SKUs stop at 300 seats per customer ([PS] offer list; [PC-2023] developer/get-a-sku-by-id.md
	// "maximumQuantity": 300), the maxSeats of bot/catalog.yaml.
	businessMax = 300
	// E and F SKUs: the 2019 legacy offer's per-order maximum ([PS] offer list, pc-samples/offer-get.json).
	// No per-customer cap is documented, so bot/catalog.yaml leaves their maxSeats unknown (0).
	enterpriseMax = 10000000
)

// Kaizala Pro standalone ids are not public anywhere (partner-center.md §8), so the sandbox chose these.
const (
	kaizalaOfferID = "E2B4C9A1-7F3D-4B6E-8A5C-2D1F0E9B8C7A"
	kaizalaSkuID   = "a1c9d3f2-6b4e-4e8a-9f2d-7c5b1e0a4d36"
	o365E1OfferID  = "91FD106F-4B2C-4938-95AC-F54F74E9A239"
)

// catalog holds the Kaizala Pro replacement plans of partner-center.md §1.3 plus Kaizala Pro itself.
// AAD sku ids, part numbers, legacy offer ids and new-commerce product ids are the real ones listed in §1.3.
// The new-commerce product and sku ids are those of bot/catalog.yaml, which cites each one's source: [PC-2023]
// samples for Business Basic, Business Standard, M365 F3, O365 E1/E3/E5 and M365 E3/E5; third-party price lists
// only (UNCONFIRMED) for Business Premium (0002) and O365 F3 (0001). Availability ids CFQ7TTC0K971 (Business
// Basic), CFQ7TTC0K39X (O365 E1) and CFQ7TTC0KCSV (O365 E3) come from Partner Center doc examples; CFQ7TTC0N81H
// is the checkout-a-cart.md example's availability of CFQ7TTC0LF8S:0001 ("Office 365 E5 without Audio
// Conferencing"), kept for O365 E5's sku 0002 (whose documented one is CFQ7TTC0KSVV,
// validate-subscription-for-migration.md); the other availability ids are sandbox-invented (real ones change
// over time and are meant to be looked up at runtime anyway).
var catalog = []*plan{
	{
		Name: "Microsoft 365 Business Basic", SkuID: "3b555118-da6a-4418-894f-7df1e2096870", SkuPartNumber: "O365_BUSINESS_ESSENTIALS",
		OfferID: "BD938F12-058F-4927-BBA3-AE36B1D2501C", Purchasable: true,
		ProductID: "CFQ7TTC0LH18", NCESkuID: "0001", Availability: "CFQ7TTC0K971",
		Category: "Business", Description: "Web and mobile versions of Office apps, Teams, email and 1 TB of cloud storage.",
		MinQuantity: 1, MaxQuantity: businessMax, ListPrice: 6.00,
		ServicePlans: []servicePlan{spExchangeP1, spSharePointP1, spOfficeWeb, spTeams, spSway},
	},
	{
		Name: "Microsoft 365 Business Standard", SkuID: "f245ecc8-75af-4f8e-b61f-27d8114de5f3", SkuPartNumber: "O365_BUSINESS_PREMIUM",
		OfferID: "031C9E47-4802-4248-838E-778FB1D2CC05", Purchasable: true,
		ProductID: "CFQ7TTC0LDPB", NCESkuID: "0001", Availability: "CFQ7TTC0K8ZR",
		Category: "Business", Description: "Desktop Office apps plus business email, Teams and cloud storage.",
		MinQuantity: 1, MaxQuantity: businessMax, ListPrice: 12.50,
		ServicePlans: []servicePlan{spExchangeP1, spSharePointP1, spOfficeWeb, spTeams, spKaizalaP2},
	},
	{
		Name: "Microsoft 365 Business Premium", SkuID: "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", SkuPartNumber: "SPB",
		OfferID: "61795CAB-2ABD-43F6-88E9-C9ADAE5746E0", Purchasable: true,
		ProductID: "CFQ7TTC0LCHC", NCESkuID: "0002", Availability: "CFQ7TTC0KB2D",
		Category: "Business", Description: "Business Standard plus advanced security and device management.",
		MinQuantity: 1, MaxQuantity: businessMax, ListPrice: 22.00,
		ServicePlans: []servicePlan{spExchangeP1, spSharePointP1, spOfficeApps, spTeams, spIntuneA, spAADP1, spKaizalaP2},
	},
	{
		Name: "Microsoft 365 F3", SkuID: "66b55226-6b4f-492c-910c-a3b7a3c9d993", SkuPartNumber: "SPE_F1",
		OfferID: "3451A3B0-8CDA-44A7-BAD7-C30BE81C4AAA", Purchasable: true,
		ProductID: "CFQ7TTC0LH05", NCESkuID: "0001", Availability: "CFQ7TTC0JX5N",
		Category: "Frontline", Description: "Microsoft 365 for frontline workers (formerly Microsoft 365 F1).",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 8.00,
		ServicePlans: []servicePlan{spSharePointK, spOfficeWeb, spTeams, spIntuneA, spAADP1, spKaizalaP1},
	},
	{
		Name: "Office 365 F3", SkuID: "4b585984-651b-448a-9e53-3b10f069cf7f", SkuPartNumber: "DESKLESSPACK",
		OfferID: "6FBAD345-B7DE-42A6-B6AB-79B363D0B371", Purchasable: true,
		ProductID: "CFQ7TTC0LGZW", NCESkuID: "0001", Availability: "CFQ7TTC0K1QS",
		Category: "Frontline", Description: "Office 365 for frontline workers (formerly Office 365 F1).",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 4.00,
		ServicePlans: []servicePlan{spSharePointK, spOfficeWeb, spTeams, spSway, spKaizalaP1},
	},
	{
		Name: "Office 365 E1", SkuID: "18181a46-0d4e-45cd-891e-60aabd171b4e", SkuPartNumber: "STANDARDPACK",
		OfferID: o365E1OfferID, Purchasable: true,
		ProductID: "CFQ7TTC0LF8Q", NCESkuID: "0001", Availability: "CFQ7TTC0K39X",
		Category: "Enterprise", Description: "Web versions of Office apps with email, file storage and Teams.",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 10.00,
		ServicePlans: []servicePlan{spExchangeP1, spSharePointP1, spOfficeWeb, spTeams, spSkype, spPlanner, spSway, spYammer, spIntuneO365, spKaizalaP2},
	},
	{
		Name: "Microsoft 365 E3", SkuID: "05e9a617-0261-4cee-bb44-138d3ef5d965", SkuPartNumber: "SPE_E3",
		OfferID: "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091", Purchasable: true,
		ProductID: "CFQ7TTC0LFLX", NCESkuID: "0001", Availability: "CFQ7TTC0KD2M",
		Category: "Enterprise", Description: "Office 365 E3, Enterprise Mobility + Security E3 and Windows Enterprise E3.",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 36.00,
		ServicePlans: []servicePlan{spExchangeP2, spSharePointP2, spOfficeApps, spTeams, spIntuneA, spAADP1, spMFA, spRMSPremium, spKaizalaP3},
	},
	{
		Name: "Office 365 E3", SkuID: "6fd2c87f-b296-42f0-b197-1e91e994b900", SkuPartNumber: "ENTERPRISEPACK",
		OfferID: "796B6B5F-613C-4E24-A17C-EBA730D49C02", Purchasable: true,
		ProductID: "CFQ7TTC0LF8R", NCESkuID: "0001", Availability: "CFQ7TTC0KCSV",
		Category: "Enterprise", Description: "Office apps, email, file storage, Teams and compliance tools.",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 23.00,
		ServicePlans: []servicePlan{spExchangeP2, spSharePointP2, spOfficeApps, spOfficeWeb, spTeams, spSkype, spPlanner, spYammer, spRMS, spKaizalaP3},
	},
	{
		Name: "Microsoft 365 E5", SkuID: "06ebc4ee-1bb5-47dd-8120-11324bc54e06", SkuPartNumber: "SPE_E5",
		OfferID: "8BDBB60B-E526-43E9-92EF-AB760C8E0B72", Purchasable: true,
		ProductID: "CFQ7TTC0LFLZ", NCESkuID: "0002", Availability: "CFQ7TTC0KD4Q",
		Category: "Enterprise", Description: "Office 365 E5, Enterprise Mobility + Security E5 and Windows Enterprise E5.",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 57.00,
		ServicePlans: []servicePlan{spExchangeP2, spSharePointP2, spOfficeApps, spTeams, spIntuneA, spAADP1, spMFA, spRMSPremium, spKaizalaSA},
	},
	{
		Name: "Office 365 E5", SkuID: "c7df2760-2c81-4ef7-b578-5b5392b571df", SkuPartNumber: "ENTERPRISEPREMIUM",
		OfferID: "A044B16A-1861-4308-8086-A3A3B506FAC2", Purchasable: true,
		ProductID: "CFQ7TTC0LF8S", NCESkuID: "0002", Availability: "CFQ7TTC0N81H",
		Category: "Enterprise", Description: "Office 365 E3 plus advanced security, voice and analytics.",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 38.00,
		ServicePlans: []servicePlan{spExchangeP2, spSharePointP2, spOfficeApps, spOfficeWeb, spTeams, spPlanner, spYammer, spRMS, spKaizalaSA},
	},
	// Education plans: AAD ids only; no public purchase ids, so they cannot be ordered here.
	eduPlan("Microsoft 365 A1", "b17653a4-2443-4e8c-a550-18249dda78bb", "M365EDU_A1"),
	eduPlan("Office 365 A1 for faculty", "94763226-9b3c-4e75-a931-5c89701abe66", "STANDARDWOFFPACK_FACULTY", spKaizalaP2),
	eduPlan("Office 365 A1 for students", "314c4481-f395-4525-be8b-2ec4bb1e9d91", "STANDARDWOFFPACK_STUDENT", spKaizalaP2),
	eduPlan("Microsoft 365 A3 for faculty", "4b590615-0888-425a-a965-b3bf7789848d", "M365EDU_A3_FACULTY", spKaizalaP3),
	eduPlan("Microsoft 365 A3 for students", "7cfd9a2b-e110-4c39-bf20-c6a3f36a3121", "M365EDU_A3_STUDENT", spKaizalaP3),
	eduPlan("Office 365 A3 for faculty", "e578b273-6db4-4691-bba0-8d691f4da603", "ENTERPRISEPACKPLUS_FACULTY", spKaizalaP3),
	eduPlan("Office 365 A3 for students", "98b6e773-24d4-4c0d-a968-6e787a1f8204", "ENTERPRISEPACKPLUS_STUDENT", spKaizalaP3),
	eduPlan("Microsoft 365 A5 for faculty", "e97c048c-37a4-45fb-ab50-922fbf07a370", "M365EDU_A5_FACULTY", spKaizalaSA),
	eduPlan("Microsoft 365 A5 for students", "46c119d4-0379-4a9d-85e4-97c66d3f909e", "M365EDU_A5_STUDENT", spKaizalaSA),
	eduPlan("Office 365 A5 for faculty", "a4585165-0533-458a-97e3-c400570268c4", "ENTERPRISEPREMIUM_FACULTY", spKaizalaSA),
	eduPlan("Office 365 A5 for students", "ee656612-49fa-43e5-b67e-cb1fdf7699df", "ENTERPRISEPREMIUM_STUDENT", spKaizalaSA),
	{
		// Retired product: existing subscriptions keep running, new purchases are refused (partner-center.md §1.1).
		Name: "Kaizala Pro", SkuID: kaizalaSkuID, SkuPartNumber: "KAIZALA_PRO_STANDALONE",
		OfferID: kaizalaOfferID, Purchasable: false,
		Category: "Enterprise", Description: "Kaizala Pro standalone (retired; sales ended July 1, 2020).",
		MinQuantity: 1, MaxQuantity: enterpriseMax, ListPrice: 0,
		ServicePlans: []servicePlan{spKaizalaSA},
	},
}

func eduPlan(name, skuID, part string, plans ...servicePlan) *plan {
	return &plan{
		Name: name, SkuID: skuID, SkuPartNumber: part, Category: "Education",
		Description: "Microsoft 365 for education.", MinQuantity: 1, MaxQuantity: enterpriseMax,
		ServicePlans: append([]servicePlan{spExchangeP1, spSharePointP1, spOfficeWeb, spTeams}, plans...),
	}
}

// catalogItemID is the new-commerce purchase id "productId:skuId:availabilityId".
func (p *plan) catalogItemID() string { return p.ProductID + ":" + p.NCESkuID + ":" + p.Availability }

func (p *plan) hasServicePlan(id string) bool {
	for _, sp := range p.ServicePlans {
		if strings.EqualFold(sp.ID, id) {
			return true
		}
	}
	return false
}

// findPlan returns the first catalog plan whose key (as chosen by key) equals id, ignoring case.
func findPlan(id string, key func(*plan) string) *plan {
	if id == "" {
		return nil
	}
	for _, p := range catalog {
		if k := key(p); k != "" && strings.EqualFold(k, id) {
			return p
		}
	}
	return nil
}

func planByOffer(id string) *plan   { return findPlan(id, func(p *plan) string { return p.OfferID }) }
func planBySku(id string) *plan     { return findPlan(id, func(p *plan) string { return p.SkuID }) }
func planByProduct(id string) *plan { return findPlan(id, func(p *plan) string { return p.ProductID }) }

func planByCatalogItem(id string) *plan {
	return findPlan(id, func(p *plan) string {
		if p.ProductID == "" {
			return ""
		}
		return p.catalogItemID()
	})
}

func mustPlan(skuID string) *plan {
	p := planBySku(skuID)
	if p == nil {
		panic("pcsim: catalog has no sku " + skuID)
	}
	return p
}
