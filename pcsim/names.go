package pcsim

// Word lists for believable seeded customers and users. Company words are Microsoft's own fictitious brands
// plus common business nouns, so that nothing resembles a real customer.
var (
	companyWords = []string{
		"Fabrikam", "Contoso", "Northwind", "Tailspin", "Litware", "Adatum", "Woodgrove", "Proseware",
		"Wingtip", "Alpine", "Coho", "Lucerne", "Trey", "Humongous", "Wide World", "Blue Yonder",
		"Fourth Coffee", "Margie", "Relecloud", "Lamna", "Munson", "Consolidated", "Southridge", "Graphic Design",
	}
	companySuffixes = []string{
		"Logistics", "Holdings", "Foods", "Traders", "Health", "Energy", "Consulting", "Labs",
		"Media", "Travel", "Retail", "Systems", "Partners", "Motors", "Insurance", "Winery",
	}
	firstNames = []string{
		"Adele", "Alex", "Allan", "Amara", "Ana", "Ben", "Carlos", "Chen", "Christie", "Daniel", "Debra",
		"Diego", "Elena", "Emily", "Fatima", "Grady", "Hannah", "Henrietta", "Isaiah", "Ivan", "Johanna",
		"Joni", "Kenji", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Nina", "Omar", "Patti",
		"Pradeep", "Priya", "Raul", "Sakura", "Sofia", "Tomasz", "Wei", "Yusuf",
	}
	lastNames = []string{
		"Vance", "Wilber", "Deyoung", "Okafor", "Souza", "Andersen", "Mendoza", "Liu", "Cline", "Tsai",
		"Gonzales", "Alvarez", "Petrova", "Brooks", "Haddad", "Archie", "Schmidt", "Mittelstadt", "Bell",
		"Ivanov", "Lindqvist", "Sherman", "Harris", "Tanaka", "Holt", "Nair", "Bowen", "Caldwell", "Wilke",
		"Novak", "Farouk", "Fernandez", "Gupta", "Sharma", "Ortega", "Yamamoto", "Rossi", "Kowalski",
		"Zhang", "Demir",
	}
	// usageLocations is weighted towards the US like a typical CSP book.
	usageLocations = []string{"US", "US", "US", "US", "GB", "GB", "DE", "IN", "FR", "CA", "AU", "NL", "JP", "BR"}
)
